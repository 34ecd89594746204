import TurnoutCore
import XCTest

/// The `state` section: the local store by default, etcd with its endpoints and prefix, and every refusal naming
/// the key and its line.
final class StateConfigTests: XCTestCase {
    func testWithoutTheSectionTheStateStaysInStateDir() throws {
        let config = try ConfigLoader.parse(yaml: minimalConfigYAML)
        XCTAssertEqual(config.state, StateConfig())
        XCTAssertEqual(config.state.store, .local)
    }

    func testReadsAnEtcdStore() throws {
        let config = try ConfigLoader.parse(yaml: minimalConfigYAML + """

            state:
              store: etcd
              endpoints: [http://127.0.0.1:2379, "etcd-2:22379", "http://[::1]:2379/"]
              prefix: /turnout/prod
            """)
        XCTAssertEqual(config.state, StateConfig(
            store: .etcd,
            endpoints: [HostPort(host: "127.0.0.1", port: 2379), HostPort(host: "etcd-2", port: 22379),
                        HostPort(host: "::1", port: 2379)],
            prefix: "/turnout/prod"))
        XCTAssertEqual(config.state.description, "etcd 127.0.0.1:2379,etcd-2:22379,[::1]:2379 /turnout/prod")
    }

    func testEtcdNeedsEndpoints() {
        assertConfigError(minimalConfigYAML + "\nstate:\n  store: etcd\n  prefix: /turnout/prod",
                          key: "state", line: 6, message: "store: etcd needs endpoints")
        assertConfigError(minimalConfigYAML + "\nstate:\n  store: etcd\n  endpoints: []\n  prefix: /turnout/prod",
                          key: "state.endpoints", line: 7, message: "store: etcd needs endpoints")
    }

    func testEtcdNeedsAPrefix() {
        assertConfigError(minimalConfigYAML + "\nstate:\n  store: etcd\n  endpoints: [127.0.0.1:2379]",
                          key: "state", line: 6, message: "store: etcd needs a prefix")
    }

    func testRefusesABadPrefix() {
        for prefix in ["turnout/prod", "/", "/turnout/prod/"] {
            assertConfigError(minimalConfigYAML + "\nstate: { store: etcd, endpoints: [127.0.0.1:2379], prefix: \"\(prefix)\" }",
                              key: "state.prefix", line: 5, message: "expected a key prefix such as /turnout/<cluster>")
        }
    }

    func testRefusesTLSAndMalformedEndpointsByName() {
        assertConfigError(minimalConfigYAML + "\nstate:\n  store: etcd\n  prefix: /t\n  endpoints:\n    - https://127.0.0.1:2379",
                          key: "state.endpoints[0]", line: 9, message: "TLS to etcd is not supported yet")
        assertConfigError(minimalConfigYAML + "\nstate:\n  store: etcd\n  prefix: /t\n  endpoints:\n    - 127.0.0.1:2379\n    - etcd",
                          key: "state.endpoints[1]", line: 10, message: "expected an etcd client address host:port")
    }

    func testRefusesAnUnknownStoreAndKey() {
        assertConfigError(minimalConfigYAML + "\nstate: { store: consul }", key: "state.store", line: 5, message: "consul")
        assertConfigError(minimalConfigYAML + "\nstate: { store: etcd, token: x }", key: "state.token", line: 5, message: "token")
    }

    func testLocalTakesNoEndpoints() {
        assertConfigError(minimalConfigYAML + "\nstate:\n  store: local\n  prefix: /turnout/prod",
                          key: "state.prefix", line: 7, message: "only store: etcd takes endpoints and a prefix")
    }

    func testAChangedStateNeedsARestart() throws {
        let running = try ConfigLoader.parse(yaml: minimalConfigYAML)
        let file = try ConfigLoader.parse(yaml: minimalConfigYAML + "\nstate: { store: etcd, endpoints: [127.0.0.1:2379], prefix: /t }")
        XCTAssertEqual(ConfigChanges(from: running, to: file).needRestart.map(\.key), ["state"])
    }
}
