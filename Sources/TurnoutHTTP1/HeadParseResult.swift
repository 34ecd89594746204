/// The outcome of parsing a head from the bytes received so far.
public enum HeadParseResult<Head> {
    /// The final CRLFCRLF has not arrived yet (and the limits are not passed): read more and parse again.
    case incomplete
    /// The head is complete and valid.
    case complete(Head)
    /// The head is invalid; answer `status` and close the connection.
    case failed(HeadError)
}

extension HeadParseResult: Sendable where Head: Sendable {}
extension HeadParseResult: Equatable where Head: Equatable {}
