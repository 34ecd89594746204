/// The figures each instance publishes for the alarms of a deployment another instance runs:
/// `<prefix>/figures/<instance>` under the instance's lease (gone with it), put once a second while a deployment is
/// in progress (`DeploymentRunner+Fleet`), and handed to `onFigures` on every other instance as the watch delivers it.
extension EtcdStateStore {
    var figuresPrefix: String { prefix + "/figures/" }

    /// Puts this instance's figures; nothing waits for it, and a failed put waits for the next second's.
    public func publishFigures(_ figures: JSONValue) {
        guard let lease, let member = registration, problem == nil else { return }
        let put: JSONValue = ["key": .string(EtcdGateway.base64(figuresPrefix + member.instance)),
                              "value": .string(EtcdGateway.base64(figures.jsonBytes)), "lease": .string(String(lease))]
        client.send("/v3/kv/put", put, on: loop) { _ in }
    }

    /// Another instance's figures changed (nil: they went with its lease); this instance's own are left out.
    func figuresChanged(_ keyValue: EtcdGateway.KeyValue, deleted: Bool) {
        let instance = String(keyValue.key.dropFirst(figuresPrefix.count))
        guard instance != registration?.instance else { return }
        onFigures?(instance, deleted ? nil : try? JSONReader.parse(keyValue.value))
    }
}
