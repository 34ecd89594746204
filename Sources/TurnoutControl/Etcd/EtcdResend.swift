/// Where a unary etcd call goes after an attempt that failed: again on a fresh connection to the same member, to the
/// next member, or nowhere. Pure: `EtcdClient` tells how far the attempt got and acts on the answer.
///
/// The kept-alive connection is the reason for a fresh one: a member that closed it while it was idle (restarted,
/// or its idle timeout) is usually seen before sending (`HTTPConnection.isOpen`), but it can close it as the
/// request goes out. Nothing sent, the request goes again on a new connection. Sent whole with no byte answered, the
/// member may have read it, and applied it, before closing: it goes again only when sending it twice is harmless
/// (`resendable`). That holds for the calls `EtcdStateStore` waits for: a range reads; a change's transaction
/// compares `head`'s mod revision, which its own success moves, so a second copy of an applied transaction fails its
/// compare and changes nothing (the record it wrote is then recognised as this instance's own, see
/// `EtcdStateStore.append`); a runner lock's asks that nobody holds the lock, which the first copy took. The same
/// reasoning lets such a call move to the next member after any failure, as a member that does not answer may still
/// have committed it.
enum EtcdResend {
    /// How far a failed attempt got.
    enum Progress: Equatable, Sendable {
        /// The request did not reach the member whole: no connection, or one that broke while it was written.
        case notSent
        /// The whole request was written and the connection ended (closed, reset) before a byte of answer: the
        /// member may or may not have read and applied it.
        case sentUnanswered
        /// The member answered, or began to: an error, an answer that is not the gateway's, one cut short.
        case answered
        /// No whole answer within the timeout.
        case timedOut

        init(_ outcome: HTTPExchange.Outcome?, sentWholeRequest: Bool, receivedAny: Bool) {
            switch outcome {
            case .response?: self = .answered
            case .timedOut?: self = .timedOut
            case .connectionFailed?, .notSent?, nil:
                self = !sentWholeRequest ? .notSent : receivedAny ? .answered : .sentUnanswered
            }
        }
    }

    enum Next: Equatable, Sendable {
        /// The same member again, on a new connection.
        case freshConnection
        /// The next member (or, after the last, the call fails).
        case nextMember
        /// The call fails here: the request may have been applied, and is not one to apply twice.
        case giveUp
    }

    /// After an attempt that got as far as `progress`, on the kept connection or a new one: a new connection's
    /// failure is the member's (it refused, broke or was slow), so the next member is tried, as before connections
    /// were kept; a kept connection's that may be only its having been closed while idle earns one fresh connection.
    static func next(after progress: Progress, onKeptConnection: Bool, resendable: Bool) -> Next {
        switch progress {
        case .notSent:
            return onKeptConnection ? .freshConnection : .nextMember
        case .sentUnanswered:
            guard resendable else { return .giveUp }
            return onKeptConnection ? .freshConnection : .nextMember
        case .answered, .timedOut:
            return resendable ? .nextMember : .giveUp
        }
    }
}
