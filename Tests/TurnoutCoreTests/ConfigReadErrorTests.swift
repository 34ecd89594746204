import TurnoutCore
import XCTest

/// Errors found while reading the YAML tree: syntax, unknown keys, wrong types, unparsable values.
final class ConfigReadErrorTests: XCTestCase {
    func testYAMLSyntaxErrorHasALine() {
        assertConfigError("""
            listeners:
              production: { bind: 0.0.0.0:8080
            target_groups: {}
            """, key: "", line: 3, message: "YAML syntax error")
    }

    func testDuplicateYAMLKeyIsNamed() {
        assertConfigError("""
            listeners:
              production: { bind: 0.0.0.0:8080, forward: { blue: 100 } }
            target_groups:
              blue: {}
              blue: {}
            """, key: "blue", line: 4, message: "key 'blue' appears more than once")
    }

    func testEmptyDocument() {
        assertConfigError("", key: "", line: 1, message: "the configuration is empty")
        assertConfigError("# only a comment\n", key: "", line: 1, message: "the configuration is empty")
    }

    func testRootMustBeAMapping() {
        assertConfigError("just text", key: "", line: 1, message: "expected a mapping of settings")
        assertConfigError("- a\n- b", key: "", line: 1, message: "expected a mapping, got a list")
    }

    func testUnknownRootKeySuggestsTheClosest() {
        assertConfigError(minimalConfigYAML + "\nlistners: {}", key: "listners", line: 5,
                          message: "unknown key 'listners'; did you mean 'listeners'?")
    }

    func testUnknownKeyWithoutCloseMatchListsTheKeys() {
        assertConfigError("colour: red\n" + minimalConfigYAML, key: "colour", line: 1,
                          message: "unknown key 'colour'; expected one of: workers, state_dir, state, admin, listeners, target_groups, timeouts, limits, log")
    }

    func testUnknownNestedKeysNameTheirPath() {
        assertConfigError("""
            listeners:
              production: { bind: 0.0.0.0:8080, forward: { blue: 100 } }
            target_groups:
              blue:
                health_check:
                  intervall: 5s
            """, key: "target_groups.blue.health_check.intervall", line: 6,
            message: "unknown key 'intervall'; did you mean 'interval'?")
        assertConfigError(minimalConfigYAML + "\nadmin: { bnid: 127.0.0.1:1 }", key: "admin.bnid", line: 5,
                          message: "did you mean 'bind'?")
        assertConfigError(minimalConfigYAML + "\ntimeouts: { conect: 1s }", key: "timeouts.conect", message: "did you mean 'connect'?")
        assertConfigError(minimalConfigYAML + "\nlimits: { max_header: 1 }", key: "limits.max_header",
                          message: "did you mean 'max_headers'?")
        assertConfigError("""
            listeners:
              production: { bind: 0.0.0.0:8080, forward: { blue: 100 }, rule: [] }
            target_groups: { blue: {} }
            """, key: "listeners.production.rule", line: 2, message: "unknown key 'rule'; did you mean 'rules'?")
        assertConfigError("""
            listeners:
              production: { bind: 0.0.0.0:8080, forward: { blue: 100 } }
            target_groups: { blue: { target: [] } }
            """, key: "target_groups.blue.target", line: 3, message: "did you mean 'targets'?")
    }

    func testSectionsMustBeMappings() {
        assertConfigError("""
            listeners:
              - production
            target_groups: {}
            """, key: "listeners", line: 2, message: "expected a mapping, got a list")
        assertConfigError(minimalConfigYAML + "\ntimeouts: 5s", key: "timeouts", line: 5, message: "expected a mapping, got '5s'")
    }

    func testListenerNeedsBindAndForward() {
        assertConfigError("""
            listeners:
              production: { forward: { blue: 100 } }
            target_groups: { blue: {} }
            """, key: "listeners.production", line: 2, message: "listener 'production' needs a bind")
        assertConfigError("""
            listeners:
              production: { bind: 0.0.0.0:8080 }
            target_groups: { blue: {} }
            """, key: "listeners.production", line: 2, message: "needs a forward action")
        assertConfigError("""
            listeners:
              production: { bind: 0.0.0.0:8080, forward: blue }
            target_groups: { blue: {} }
            """, key: "listeners.production.forward", line: 2, message: "expected a mapping of target group to weight")
    }

    func testWeightMustBeAnUnquotedInteger() {
        for weight in ["lots", "\"100\"", "1.5", "[1]", "null"] {
            assertConfigError("""
                listeners:
                  production:
                    bind: 0.0.0.0:8080
                    forward:
                      blue: \(weight)
                target_groups: { blue: {} }
                """, key: "listeners.production.forward.blue", line: 5, message: "weight must be a whole percentage 0...100")
        }
    }

    func testBadHostPort() {
        assertConfigError("""
            listeners:
              production: { bind: localhost, forward: { blue: 100 } }
            target_groups: { blue: {} }
            """, key: "listeners.production.bind", line: 2, message: "expected host:port such as 127.0.0.1:3000")
        assertConfigError(minimalConfigYAML + "\nadmin: { bind: 127.0.0.1:99999 }", key: "admin.bind", line: 5,
                          message: "got '127.0.0.1:99999'")
    }

    func testUnquotedIPv6GetsAHint() {
        // Unquoted, `[::1]:3000` opens a flow sequence: a syntax error, or a list where host:port was expected.
        assertConfigError("""
            listeners:
              production: { bind: 0.0.0.0:8080, forward: { blue: 100 } }
            target_groups:
              blue:
                targets:
                  - 127.0.0.1:3000
                  - [::1]:3000
            """, key: "", line: 7, message: "quote IPv6 addresses: \"[::1]:8080\"")
        assertConfigError("""
            listeners:
              production:
                bind: [::1]
                forward: { blue: 100 }
            target_groups: { blue: {} }
            """, key: "", line: 3, message: "quote IPv6 addresses")
        assertConfigError("""
            listeners:
              production:
                bind: [fe80::1]
                forward: { blue: 100 }
            target_groups: { blue: {} }
            """, key: "listeners.production.bind", line: 3, message: "got a list (quote IPv6 addresses")
    }

    func testTargetsMustBeAList() {
        assertConfigError("""
            listeners:
              production: { bind: 0.0.0.0:8080, forward: { blue: 100 } }
            target_groups:
              blue: { targets: 127.0.0.1:3000 }
            """, key: "target_groups.blue.targets", line: 4, message: "expected a list of host:port targets")
    }

    func testBadDurations() {
        assertConfigError(minimalConfigYAML + "\ntimeouts:\n  connect: 5", key: "timeouts.connect", line: 6,
                          message: "expected a duration with a unit (ns, us, ms, s, m, h) such as 5s or 250ms, got '5'")
        assertConfigError("""
            listeners:
              production: { bind: 0.0.0.0:8080, forward: { blue: 100 } }
            target_groups:
              blue: { deregistration_delay: soon }
            """, key: "target_groups.blue.deregistration_delay", line: 4, message: "got 'soon'")
        assertConfigError(minimalConfigYAML + "\ntimeouts: { client_idle: null }", key: "timeouts.client_idle",
                          message: "got null")
    }

    func testBadMatcher() {
        assertConfigError("""
            listeners:
              production: { bind: 0.0.0.0:8080, forward: { blue: 100 } }
            target_groups:
              blue: { health_check: { matcher: "200-600" } }
            """, key: "target_groups.blue.health_check.matcher", line: 4, message: "got '200-600'")
    }

    func testBadAlgorithm() {
        assertConfigError("""
            listeners:
              production: { bind: 0.0.0.0:8080, forward: { blue: 100 } }
            target_groups:
              blue: { algorithm: random }
            """, key: "target_groups.blue.algorithm", line: 4,
            message: "expected one of round_robin, least_outstanding_requests, got 'random'")
    }

    func testWrongTypesForNumbers() {
        assertConfigError(minimalConfigYAML + "\nlimits: { max_headers: many }", key: "limits.max_headers",
                          message: "expected an integer, got 'many'")
        assertConfigError("""
            listeners:
              production: { bind: 0.0.0.0:8080, forward: { blue: 100 } }
            target_groups:
              blue: { health_check: { healthy_threshold: "3" } }
            """, key: "target_groups.blue.health_check.healthy_threshold", line: 4, message: "expected an integer")
        assertConfigError("""
            listeners:
              production: { bind: 0.0.0.0:8080, forward: { blue: 100 } }
            target_groups:
              blue: { health_check: { port: 70000 } }
            """, key: "target_groups.blue.health_check.port", line: 4, message: "expected a port 1...65535, got 70000")
    }

    func testWorkersMustBeAutoOrAnInteger() {
        assertConfigError("workers: many\n" + minimalConfigYAML, key: "workers", line: 1,
                          message: "expected 'auto' or an integer 1...256, got 'many'")
        assertConfigError("workers: \"4\"\n" + minimalConfigYAML, key: "workers", line: 1,
                          message: "expected 'auto' or an integer 1...256")
    }

    func testStateDirMustBeAString() {
        assertConfigError("state_dir: [a]\n" + minimalConfigYAML, key: "state_dir", line: 1,
                          message: "expected a directory path, got a list")
    }

    func testLogFormatAndLevelAreNamedChoices() {
        assertConfigError(minimalConfigYAML + "\nlog:\n  format: logfmt", key: "log.format", line: 6,
                          message: "expected one of text, json, got 'logfmt'")
        assertConfigError(minimalConfigYAML + "\nlog: { level: verbose }", key: "log.level", line: 5,
                          message: "expected one of trace, debug, info, notice, warning, error, critical, got 'verbose'")
        assertConfigError(minimalConfigYAML + "\nlog: { format: [json] }", key: "log.format", line: 5,
                          message: "expected one of text, json, got a list")
        assertConfigError(minimalConfigYAML + "\nlog: { fromat: json }", key: "log.fromat", line: 5,
                          message: "unknown key 'fromat'; did you mean 'format'?")
    }
}
