import TurnoutCore
import XCTest

/// A target group's `tls`: reading, defaults, errors, and a reload that changes it.
final class UpstreamTLSConfigTests: XCTestCase {
    func testSettingsAreRead() throws {
        let config = try ConfigLoader.parse(yaml: minimalConfigYAML.replacingOccurrences(
            of: "blue: { targets: [127.0.0.1:3000] }",
            with: "blue: { targets: [127.0.0.1:3000], tls: { verify: false, ca_file: /etc/ca.pem, server_name: app.internal } }"))
        XCTAssertEqual(config.targetGroups[0].tls,
                       UpstreamTLSConfig(verify: false, caFile: "/etc/ca.pem", serverName: "app.internal"))
    }

    func testAnEmptySectionVerifiesAgainstTheSystemStoreByTheTargetsHost() throws {
        let config = try ConfigLoader.parse(yaml: minimalConfigYAML.replacingOccurrences(
            of: "blue: { targets: [127.0.0.1:3000] }", with: "blue: { targets: [127.0.0.1:3000], tls: {} }"))
        XCTAssertEqual(config.targetGroups[0].tls, UpstreamTLSConfig(verify: true, caFile: nil, serverName: nil))
        let plain = try ConfigLoader.parse(yaml: minimalConfigYAML)
        XCTAssertNil(plain.targetGroups[0].tls)
    }

    func testUnknownKeyAndWrongTypeAreRefusedNamingTheKey() {
        assertConfigError(minimalConfigYAML.replacingOccurrences(
            of: "blue: { targets: [127.0.0.1:3000] }", with: "blue: { targets: [127.0.0.1:3000], tls: { verfy: true } }"),
            key: "target_groups.blue.tls.verfy", line: 4, message: "verify")
        assertConfigError(minimalConfigYAML.replacingOccurrences(
            of: "blue: { targets: [127.0.0.1:3000] }", with: "blue: { targets: [127.0.0.1:3000], tls: { verify: maybe } }"),
            key: "target_groups.blue.tls.verify", line: 4, message: "expected true or false")
    }

    func testAReloadThatChangesItAppliesToTheGroup() throws {
        let before = try ConfigLoader.parse(yaml: minimalConfigYAML)
        let after = try ConfigLoader.parse(yaml: minimalConfigYAML.replacingOccurrences(
            of: "blue: { targets: [127.0.0.1:3000] }", with: "blue: { targets: [127.0.0.1:3000], tls: { server_name: a } }"))
        let changed = ConfigChanges(from: before, to: after)
        XCTAssertEqual(changed.needRestart, [])
        XCTAssertEqual(changed.appliedKeys, ["target_groups.blue.tls"])
    }
}
