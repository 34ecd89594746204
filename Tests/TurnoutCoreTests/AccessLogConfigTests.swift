import TurnoutCore
import XCTest

/// `access_log` at the top and on a listener: what each listener writes to, and the refusals naming the key.
final class AccessLogConfigTests: XCTestCase {
    private let twoListeners = """
        listeners:
          production: { bind: 0.0.0.0:8080, forward: { blue: 100 } }
          test:
            bind: 0.0.0.0:8081
            forward: { blue: 100 }
            access_log: { format: json, path: /var/log/turnout/test.json }
          internal: { bind: 0.0.0.0:8082, forward: { blue: 100 }, access_log: off }
        target_groups:
          blue: { targets: [127.0.0.1:3000] }
        """

    func testEachListenerWritesItsOwnOrTheTopLevelOne() throws {
        let config = try ConfigLoader.parse(yaml: twoListeners + "\naccess_log: { path: /var/log/turnout/access.log }")
        XCTAssertEqual(config.accessLog, AccessLogConfig(path: "/var/log/turnout/access.log", format: .combined))
        XCTAssertEqual(config.listeners.map(config.accessLog(of:)), [
            AccessLogConfig(path: "/var/log/turnout/access.log", format: .combined),
            AccessLogConfig(path: "/var/log/turnout/test.json", format: .json),
            nil,
        ])
        let none = try ConfigLoader.parse(yaml: minimalConfigYAML)
        XCTAssertNil(none.accessLog)
        XCTAssertNil(none.accessLog(of: none.listeners[0]))
    }

    func testAListenerTakesWhatItLeavesOutFromTheTopLevel() throws {
        let config = try ConfigLoader.parse(yaml: """
            access_log: { path: /tmp/a.log, format: json }
            listeners:
              production: { bind: 0.0.0.0:8080, forward: { blue: 100 }, access_log: { path: /tmp/p.log } }
            target_groups:
              blue: { targets: [127.0.0.1:3000] }
            """)
        XCTAssertEqual(config.accessLog(of: config.listeners[0]), AccessLogConfig(path: "/tmp/p.log", format: .json))
    }

    func testRefusalsNameTheKey() {
        assertConfigError(minimalConfigYAML + "\naccess_log: { format: json }", key: "access_log", line: 5,
                          message: "access_log needs a path")
        assertConfigError(minimalConfigYAML + "\naccess_log: { path: /tmp/a.log, format: common }", key: "access_log.format",
                          line: 5, message: "expected one of combined, json, got 'common'")
        assertConfigError(minimalConfigYAML + "\naccess_log: { path: /tmp/a.log, rotate: daily }", key: "access_log.rotate",
                          message: "unknown key")
        assertConfigError("""
            listeners:
              production: { bind: 0.0.0.0:8080, forward: { blue: 100 }, access_log: { format: json } }
            target_groups:
              blue: { targets: [127.0.0.1:3000] }
            """, key: "listeners.production.access_log.path", line: 2,
            message: "missing: there is no top-level access_log to take it from")
        assertConfigError("""
            listeners:
              production: { bind: 0.0.0.0:8080, forward: { blue: 100 }, access_log: yes }
            target_groups:
              blue: { targets: [127.0.0.1:3000] }
            """, key: "listeners.production.access_log", message: "expected off, or { path, format }")
        assertConfigError(twoListeners + "\naccess_log: { path: /var/log/turnout/test.json }",
                          key: "listeners.test.access_log.format",
                          message: "/var/log/turnout/test.json is written as combined by another listener")
    }

    func testAChangedAccessLogNeedsARestart() throws {
        let before = try ConfigLoader.parse(yaml: minimalConfigYAML)
        let after = try ConfigLoader.parse(yaml: minimalConfigYAML + "\naccess_log: { path: /tmp/a.log }")
        XCTAssertEqual(ConfigChanges(from: before, to: after).needRestart.map(\.key), ["access_log"])
    }
}
