import XCTest
@testable import TurnoutControl

/// The etcd JSON gateway's messages as bytes: the requests built (base64 keys, decimal-string revisions, the prefix's
/// range end) and the answers read, as etcd 3.4's gateway writes them; the watch stream split into its messages
/// however the reads cut it.
final class EtcdGatewayTests: XCTestCase {
    func testARangeOfAPrefixAsksForEveryKeyStartingWithIt() {
        XCTAssertEqual(EtcdGateway.rangeRequest(prefix: "/t/").jsonText, #"{"key":"L3Qv","range_end":"L3Qw"}"#)
        XCTAssertEqual(EtcdGateway.prefixEnd([0x61, 0xFF]), [0x62])
        XCTAssertEqual(EtcdGateway.prefixEnd([0xFF, 0xFF]), [0])
    }

    func testATransactionComparesTheModRevisionAndPutsAndDeletes() {
        let request = EtcdGateway.transactionRequest(
            compare: [EtcdGateway.Compare(key: "/t/head", modRevision: 42)],
            success: [.put(key: "/t/head", value: Array("7".utf8)), .delete(key: "/t/j")])
        XCTAssertEqual(request.jsonText, """
            {"compare":[{"key":"L3QvaGVhZA==","mod_revision":"42","result":"EQUAL","target":"MOD"}],\
            "success":[{"request_put":{"key":"L3QvaGVhZA==","value":"Nw=="}},{"request_delete_range":{"key":"L3Qvag=="}}]}
            """)
    }

    func testARunnerLockIsTakenOnlyIfNobodyHoldsItAndUnderTheInstancesLease() {
        let request = EtcdGateway.transactionRequest(
            compare: EtcdStateStore.lockCompares(key: "/t/runners/production", headKey: "/t/head", appliedRevision: 42),
            success: [.put(key: "/t/runners/production", value: Array("{}".utf8), lease: 7_587_000_001)])
        XCTAssertEqual(request.jsonText, """
            {"compare":[{"create_revision":"0","key":"L3QvcnVubmVycy9wcm9kdWN0aW9u","result":"EQUAL","target":"CREATE"},\
            {"key":"L3QvaGVhZA==","mod_revision":"42","result":"EQUAL","target":"MOD"}],\
            "success":[{"request_put":{"key":"L3QvcnVubmVycy9wcm9kdWN0aW9u","lease":"7587000001","value":"e30="}}]}
            """)
    }

    func testAWatchStartsAtARevision() {
        XCTAssertEqual(EtcdGateway.watchRequest(prefix: "/t/", startRevision: 9).jsonText,
                       #"{"create_request":{"key":"L3Qv","range_end":"L3Qw","start_revision":"9"}}"#)
    }

    func testReadsARangeAnswerWithRevisionsAsStrings() throws {
        let answer = try JSONReader.parse(Array("""
            {"header":{"cluster_id":"1","member_id":"2","revision":"12","raft_term":"2"},
             "kvs":[{"key":"L3QvaGVhZA==","create_revision":"3","mod_revision":"12","version":"4","value":"Nw=="},
                    {"key":"L3Qvag==","create_revision":"5","mod_revision":"5","version":"1"}],"count":"2"}
            """.utf8))
        let range = try EtcdGateway.rangeAnswer(answer)
        XCTAssertEqual(range.revision, 12)
        XCTAssertEqual(range.keyValues, [
            EtcdGateway.KeyValue(key: "/t/head", value: Array("7".utf8), createRevision: 3, modRevision: 12),
            EtcdGateway.KeyValue(key: "/t/j", value: [], createRevision: 5, modRevision: 5),
        ])
        // An empty range leaves `kvs` out.
        XCTAssertEqual(try EtcdGateway.rangeAnswer(JSONReader.parse(Array(#"{"header":{"revision":"1"}}"#.utf8))).keyValues, [])
    }

    func testReadsWhetherATransactionsComparesHeld() throws {
        let won = try JSONReader.parse(Array(#"{"header":{"revision":"13"},"succeeded":true,"responses":[]}"#.utf8))
        XCTAssertEqual(try EtcdGateway.transactionAnswer(won).succeeded, true)
        XCTAssertEqual(try EtcdGateway.transactionAnswer(won).revision, 13)
        // A lost compare: `succeeded` is false, which the gateway leaves out.
        let lost = try JSONReader.parse(Array(#"{"header":{"revision":"13"}}"#.utf8))
        XCTAssertEqual(try EtcdGateway.transactionAnswer(lost).succeeded, false)
    }

    func testALostCompareReadsTheKeysAskedForAndTheAnswerHoldsThem() throws {
        let request = EtcdGateway.transactionRequest(
            compare: [EtcdGateway.Compare(key: "/t/head", modRevision: 42)],
            success: [.put(key: "/t/j", value: Array("r".utf8))], failureReads: ["/t/j"])
        XCTAssertEqual(request.jsonText, """
            {"compare":[{"key":"L3QvaGVhZA==","mod_revision":"42","result":"EQUAL","target":"MOD"}],\
            "failure":[{"request_range":{"key":"L3Qvag=="}}],"success":[{"request_put":{"key":"L3Qvag==","value":"cg=="}}]}
            """)
        let lost = try JSONReader.parse(Array("""
            {"header":{"revision":"14"},"responses":[{"response_range":{"header":{"revision":"14"},\
            "kvs":[{"key":"L3Qvag==","create_revision":"13","mod_revision":"13","version":"1","value":"cg=="}],"count":"1"}}]}
            """.utf8))
        let answer = try EtcdGateway.transactionAnswer(lost)
        XCTAssertEqual(answer.succeeded, false)
        XCTAssertEqual(answer.failureReads, [EtcdGateway.KeyValue(key: "/t/j", value: Array("r".utf8), createRevision: 13, modRevision: 13)])
        // A key the read did not find: no `kvs`.
        let absent = try JSONReader.parse(Array(#"{"header":{"revision":"14"},"responses":[{"response_range":{"header":{}}}]}"#.utf8))
        XCTAssertEqual(try EtcdGateway.transactionAnswer(absent).failureReads, [])
    }

    func testRefusesAnswersThatAreNotTheGateways() throws {
        XCTAssertThrowsError(try EtcdGateway.rangeAnswer(JSONReader.parse(Array(#"{"kvs":[]}"#.utf8))))
        XCTAssertThrowsError(try EtcdGateway.rangeAnswer(JSONReader.parse(Array(#"{"header":{"revision":"x"}}"#.utf8))))
        XCTAssertThrowsError(try EtcdGateway.rangeAnswer(JSONReader.parse(Array(
            #"{"header":{"revision":"2"},"kvs":[{"key":"not base64!"}]}"#.utf8))))
    }

    func testReadsEveryKindOfWatchMessage() throws {
        func message(_ text: String) throws -> EtcdGateway.WatchMessage {
            try EtcdGateway.watchMessage(JSONReader.parse(Array(text.utf8)))
        }
        XCTAssertEqual(try message(#"{"result":{"header":{"revision":"2"},"created":true}}"#), .created(revision: 2))
        XCTAssertEqual(try message("""
            {"result":{"header":{"revision":"4"},"events":[{"kv":{"key":"L3Qvag==","create_revision":"4",\
            "mod_revision":"4","version":"1","value":"e30="}},{"type":"DELETE","kv":{"key":"L3Qvaw==","mod_revision":"4"}}]}}
            """), .events([
                EtcdGateway.WatchEvent(isDelete: false, keyValue: EtcdGateway.KeyValue(
                    key: "/t/j", value: Array("{}".utf8), createRevision: 4, modRevision: 4)),
                EtcdGateway.WatchEvent(isDelete: true, keyValue: EtcdGateway.KeyValue(
                    key: "/t/k", value: [], createRevision: 0, modRevision: 4)),
            ], revision: 4))
        XCTAssertEqual(try message(#"{"result":{"header":{"revision":"9"},"canceled":true,"compact_revision":"7"}}"#),
                       .compacted(compactRevision: 7))
        XCTAssertEqual(try message(#"{"result":{"header":{"revision":"9"},"canceled":true,"cancel_reason":"gone"}}"#),
                       .canceled(reason: "gone"))
        XCTAssertEqual(try message(#"{"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader"}}"#),
                       .canceled(reason: "etcdserver: no leader"))
        XCTAssertThrowsError(try message(#"{"header":{}}"#))
    }

    func testTheWatchStreamIsSplitIntoMessagesHoweverTheReadsCutIt() throws {
        let stream = Array("{\"a\":1}\n{\"b\":2}\n\n{\"c\":3}\n".utf8)
        for cut in 0...stream.count {
            var framing = EtcdWatchFraming()
            let messages = try framing.take(stream[..<cut]) + framing.take(stream[cut...])
            XCTAssertEqual(messages.map { String(decoding: $0, as: UTF8.self) }, [#"{"a":1}"#, #"{"b":2}"#, #"{"c":3}"#],
                           "cut at \(cut)")
        }
        var framing = EtcdWatchFraming()
        XCTAssertEqual(try framing.take(Array("{\"a\":".utf8)[...]), [])
        XCTAssertThrowsError(try framing.take([UInt8](repeating: 0x20, count: EtcdWatchFraming.maxMessageBytes + 1)[...]))
    }

    func testAnInstancesRegistrationReadsBackAsItWasWritten() throws {
        let member = FleetMember(instance: "web-1:9901", address: "10.0.0.1:9901", appliedRevision: 42, lastSeen: 1_700_000_000_123)
        XCTAssertEqual(member.jsonValue.jsonText,
                       #"{"address":"10.0.0.1:9901","applied_revision":42,"instance":"web-1:9901","last_seen_ms":1700000000123}"#)
        XCTAssertEqual(FleetMember(json: try JSONReader.parse(member.jsonValue.jsonBytes)), member)
        XCTAssertNil(FleetMember(json: ["instance": "web-1:9901"]), "a registration without its revision is not one")
    }

    func testAFleetWaitIsAppliedOnlyWithNobodyBehind() {
        XCTAssertTrue(FleetWait(revision: 9, behind: [], instances: 3, waitedMilliseconds: 4).applied)
        let late = FleetWait(revision: 9, behind: ["web-2:9901"], instances: 3, waitedMilliseconds: 1000)
        XCTAssertFalse(late.applied)
        XCTAssertEqual(late.jsonValue.jsonText,
                       #"{"applied":false,"behind":["web-2:9901"],"instances":3,"revision":9,"waited_ms":1000}"#)
    }
}
