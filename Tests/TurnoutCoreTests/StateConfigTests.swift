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

    func testReadsAnEtcdStoreOverTLS() throws {
        let config = try ConfigLoader.parse(yaml: minimalConfigYAML + """

            state:
              store: etcd
              endpoints: [https://127.0.0.1:2379, "etcd-2:22379"]
              prefix: /turnout/prod
              tls: {ca_file: /etc/etcd/ca.pem, server_name: etcd.internal, cert: /etc/turnout/etcd.pem, key: /etc/turnout/etcd.key}
            """)
        let tls = EtcdTLSConfig(server: UpstreamTLSConfig(verify: true, caFile: "/etc/etcd/ca.pem", serverName: "etcd.internal"),
                                cert: "/etc/turnout/etcd.pem", key: "/etc/turnout/etcd.key")
        XCTAssertEqual(config.state.tls, tls)
        XCTAssertEqual(config.state.endpoints, [HostPort(host: "127.0.0.1", port: 2379), HostPort(host: "etcd-2", port: 22379)])
        XCTAssertEqual(config.state.description, "etcd https://127.0.0.1:2379,https://etcd-2:22379 /turnout/prod "
            + "tls(verify: true, ca_file: /etc/etcd/ca.pem, server_name: etcd.internal, cert: /etc/turnout/etcd.pem, key: /etc/turnout/etcd.key)")
    }

    func testAnHTTPSEndpointAloneMeansTLSWithTheSystemsAuthorities() throws {
        let config = try ConfigLoader.parse(yaml: minimalConfigYAML + "\nstate: { store: etcd, endpoints: [https://e:2379], prefix: /t }")
        XCTAssertEqual(config.state.tls, EtcdTLSConfig())
    }

    func testRefusesPlainHTTPBesideTLSAndHalfAClientCertificate() {
        assertConfigError(minimalConfigYAML + "\nstate:\n  store: etcd\n  prefix: /t\n  endpoints:\n    - https://127.0.0.1:2379\n    - http://127.0.0.1:22379",
                          key: "state.endpoints[1]", line: 10, message: "every etcd endpoint is spoken to over HTTPS")
        assertConfigError(minimalConfigYAML + "\nstate:\n  store: etcd\n  prefix: /t\n  endpoints: [http://e:2379]\n  tls: {verify: false}",
                          key: "state.endpoints[0]", line: 8, message: "every etcd endpoint is spoken to over HTTPS")
        assertConfigError(minimalConfigYAML + "\nstate:\n  store: etcd\n  prefix: /t\n  endpoints: [e:2379]\n  tls:\n    key: /k.pem",
                          key: "state.tls.key", line: 10, message: "a client certificate needs both cert and key")
        assertConfigError(minimalConfigYAML + "\nstate:\n  store: etcd\n  prefix: /t\n  endpoints: [e:2379]\n  tls:\n    verify: maybe",
                          key: "state.tls.verify", line: 10, message: "maybe")
        assertConfigError(minimalConfigYAML + "\nstate:\n  tls: {verify: false}",
                          key: "state.tls", line: 6, message: "only store: etcd takes endpoints, a prefix, tls and credentials")
    }

    func testReadsEtcdCredentialsAndRefusesHalfOfThem() throws {
        let config = try ConfigLoader.parse(yaml: minimalConfigYAML
            + "\nstate: { store: etcd, endpoints: [e:2379], prefix: /t, username: turnout, password_file: /etc/turnout/etcd-password }")
        XCTAssertEqual(config.state.username, "turnout")
        XCTAssertEqual(config.state.passwordFile, "/etc/turnout/etcd-password")
        XCTAssertEqual(config.state.description, "etcd e:2379 /t user turnout password_file /etc/turnout/etcd-password")
        assertConfigError(minimalConfigYAML + "\nstate:\n  store: etcd\n  prefix: /t\n  endpoints: [e:2379]\n  password_file: /p",
                          key: "state.password_file", line: 9, message: "etcd authentication needs both username and password_file")
        assertConfigError(minimalConfigYAML + "\nstate:\n  username: turnout",
                          key: "state.username", line: 6, message: "only store: etcd takes endpoints, a prefix, tls and credentials")
    }

    func testRefusesMalformedEndpointsByName() {
        assertConfigError(minimalConfigYAML + "\nstate:\n  store: etcd\n  prefix: /t\n  endpoints:\n    - 127.0.0.1:2379\n    - etcd",
                          key: "state.endpoints[1]", line: 10, message: "expected an etcd client address host:port")
    }

    func testRefusesAnUnknownStoreAndKey() {
        assertConfigError(minimalConfigYAML + "\nstate: { store: consul }", key: "state.store", line: 5, message: "consul")
        assertConfigError(minimalConfigYAML + "\nstate: { store: etcd, token: x }", key: "state.token", line: 5, message: "token")
    }

    func testLocalTakesNoEndpoints() {
        assertConfigError(minimalConfigYAML + "\nstate:\n  store: local\n  prefix: /turnout/prod",
                          key: "state.prefix", line: 7, message: "only store: etcd takes endpoints, a prefix, tls and credentials")
    }

    func testAChangedStateNeedsARestart() throws {
        let running = try ConfigLoader.parse(yaml: minimalConfigYAML)
        let file = try ConfigLoader.parse(yaml: minimalConfigYAML + "\nstate: { store: etcd, endpoints: [127.0.0.1:2379], prefix: /t }")
        XCTAssertEqual(ConfigChanges(from: running, to: file).needRestart.map(\.key), ["state"])
    }
}
