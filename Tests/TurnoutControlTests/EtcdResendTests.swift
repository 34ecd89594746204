import XCTest
@testable import TurnoutControl

/// Where a unary etcd call goes after a failed attempt: a kept connection the member closed costs one fresh
/// connection; a request that may have been applied goes again only when it is harmless twice.
final class EtcdResendTests: XCTestCase {
    func testHowFarAnAttemptGotIsReadFromItsOutcome() {
        typealias Progress = EtcdResend.Progress
        XCTAssertEqual(Progress(.connectionFailed("connection refused"), sentWholeRequest: false, receivedAny: false), .notSent)
        XCTAssertEqual(Progress(.connectionFailed("connection reset"), sentWholeRequest: false, receivedAny: false), .notSent)
        XCTAssertEqual(Progress(.notSent("cannot watch the socket"), sentWholeRequest: false, receivedAny: false), .notSent)
        XCTAssertEqual(Progress(.connectionFailed("connection closed before a complete response head"),
                                sentWholeRequest: true, receivedAny: false), .sentUnanswered)
        XCTAssertEqual(Progress(.connectionFailed("connection closed before a complete response head"),
                                sentWholeRequest: true, receivedAny: true), .answered)
        XCTAssertEqual(Progress(.response(HTTPExchange.Response(status: 503, fields: [], bodyStart: [])),
                                sentWholeRequest: true, receivedAny: true), .answered)
        XCTAssertEqual(Progress(.timedOut, sentWholeRequest: true, receivedAny: false), .timedOut)
        XCTAssertEqual(Progress(.timedOut, sentWholeRequest: false, receivedAny: false), .timedOut)
    }

    func testAKeptConnectionThatFailedBeforeTheRequestWentGetsAFreshOneWhateverTheRequest() {
        for resendable in [true, false] {
            XCTAssertEqual(EtcdResend.next(after: .notSent, onKeptConnection: true, resendable: resendable), .freshConnection)
            // A new connection that failed is the member's failure: the next one is tried, nothing having been sent.
            XCTAssertEqual(EtcdResend.next(after: .notSent, onKeptConnection: false, resendable: resendable), .nextMember)
        }
    }

    func testARequestClosedOnWithoutAnAnswerGoesAgainOnlyWhenHarmlessTwice() {
        XCTAssertEqual(EtcdResend.next(after: .sentUnanswered, onKeptConnection: true, resendable: true), .freshConnection)
        XCTAssertEqual(EtcdResend.next(after: .sentUnanswered, onKeptConnection: false, resendable: true), .nextMember)
        XCTAssertEqual(EtcdResend.next(after: .sentUnanswered, onKeptConnection: true, resendable: false), .giveUp)
        XCTAssertEqual(EtcdResend.next(after: .sentUnanswered, onKeptConnection: false, resendable: false), .giveUp)
    }

    func testAMemberThatAnsweredOrWasTooSlowIsLeftForTheNextNotAskedAgain() {
        for progress in [EtcdResend.Progress.answered, .timedOut] {
            for kept in [true, false] {
                XCTAssertEqual(EtcdResend.next(after: progress, onKeptConnection: kept, resendable: true), .nextMember)
                XCTAssertEqual(EtcdResend.next(after: progress, onKeptConnection: kept, resendable: false), .giveUp)
            }
        }
    }
}
