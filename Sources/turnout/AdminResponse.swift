/// A complete response from the admin API.
struct AdminResponse {
    let status: Int
    let headers: [(name: String, value: String)]
    let body: [UInt8]

    /// The first field named `name` (ASCII case-insensitive).
    func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name.lowercased() == wanted }?.value
    }

    var isSuccess: Bool { (200..<300).contains(status) }

    /// Whether the server answered from its idempotency record instead of applying the request again.
    var isReplay: Bool { header("Idempotent-Replayed")?.lowercased() == "true" }

    var bodyText: String { String(decoding: body, as: UTF8.self) }
}
