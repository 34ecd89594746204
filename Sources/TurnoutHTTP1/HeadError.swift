/// Why a head (or chunked body framing) was refused, with the status to answer.
public struct HeadError: Error, Sendable, Equatable {
    /// 400, 417, 431, 501 or 505 for requests; 502 for responses (the client gets a Bad Gateway).
    public var status: UInt16
    /// A short fixed phrase for the log line.
    public var reason: StaticString

    public init(status: UInt16, reason: StaticString) {
        self.status = status
        self.reason = reason
    }

    /// Equal when the status and the reason's bytes are equal.
    public static func == (lhs: HeadError, rhs: HeadError) -> Bool {
        guard lhs.status == rhs.status else { return false }
        return lhs.reason.withUTF8Buffer { left in
            rhs.reason.withUTF8Buffer { right in
                left.count == right.count && zip(left, right).allSatisfy { $0 == $1 }
            }
        }
    }
}
