import XCTest
@testable import TurnoutControl

/// The event buffer and the stream's clients, without sockets: a sink stands in for each client's
/// connection and says how many bytes its socket has not taken.
final class EventStreamTests: XCTestCase {
    /// A client connection whose socket takes bytes only when the test says so.
    final class Sink: AdminStreamSink {
        private(set) var written: [UInt8] = []
        var unsentBytes = 0
        private(set) var isClosed = false
        var onWritable: (() -> Void)?
        var onClose: (() -> Void)?
        /// Whether sent bytes stay unsent (a client that does not read).
        var stalled = false

        func send(_ bytes: [UInt8]) {
            guard !isClosed else { return }
            written += bytes
            if stalled { unsentBytes += bytes.count }
        }

        func close() {
            guard !isClosed else { return }
            isClosed = true
            onClose?()
        }

        /// The socket took everything.
        func drain() {
            unsentBytes = 0
            onWritable?()
        }

        var text: String { String(decoding: written, as: UTF8.self) }

        /// The `id:` of every event written, in order.
        var ids: [String] {
            text.split(separator: "\n").filter { $0.hasPrefix("id: ") }.map { String($0.dropFirst(4)) }
        }
    }

    private let clock = ManualClock()

    private func connect(_ stream: EventStream, lastEventID: String? = nil) throws -> Sink {
        let response = try stream.open(lastEventID: lastEventID, generation: 7)
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.headers.first { $0.0 == "Content-Type" }?.1, "text/event-stream")
        let sink = Sink()
        sink.send(response.body)
        try XCTUnwrap(response.stream).start(sink)
        return sink
    }

    // MARK: - The log

    func testAnEventIsOneFrameWithItsIdKindGenerationAndTime() {
        var log = EventLog(capacity: 4, firstID: 100)
        let event = log.append(.health, generation: 3, milliseconds: 1_795_701_600_123, ["group": "blue"])
        XCTAssertEqual(event.id, 100)
        XCTAssertEqual(String(decoding: event.frame, as: UTF8.self), """
            id: 100
            event: health
            data: {"generation":3,"group":"blue","id":100,"kind":"health","time":"2026-11-26T14:00:00.123Z"}


            """)
    }

    func testTheLogKeepsTheNewestCapacityEventsAndSaysWhereAClientResumes() {
        var log = EventLog(capacity: 3, firstID: 10)
        XCTAssertEqual(log.resumption(after: 9), 10, "nothing happened since the client's last event")
        XCTAssertNil(log.resumption(after: 8))
        for generation in 1...5 { log.append(.routing, generation: UInt64(generation), milliseconds: 0, [:]) }
        XCTAssertEqual([log.oldestID, log.newestID, UInt64(log.count)], [12, 14, 3])
        XCTAssertEqual((12...14).map { log.event($0)?.generation }, [3, 4, 5])
        XCTAssertNil(log.event(11))
        XCTAssertNil(log.event(15))
        XCTAssertEqual(log.resumption(after: 14), 15)
        XCTAssertEqual(log.resumption(after: 13), 14)
        XCTAssertEqual(log.resumption(after: 11), 12, "its next event is the oldest kept")
        XCTAssertNil(log.resumption(after: 10), "event 11 is gone")
        XCTAssertNil(log.resumption(after: 15), "not an event of this log: another process's")
    }

    // MARK: - Clients

    func testAClientGetsTheRetryFieldThenEveryEventLive() throws {
        let stream = EventStream(clock: clock, firstID: 1)
        let sink = try connect(stream)
        stream.publish(.routing, generation: 2, ["action": "switch"])
        stream.publish(.health, generation: 2, ["to": "unhealthy"])
        XCTAssertTrue(sink.text.hasPrefix("""
            retry: 1000

            event: open
            data: {"generation":7,"kind":"open","newest_id":0,"oldest_id":null,"resumed_after":null,"time":"2026-11-26T14:00:00.000Z"}

            id: 1
            event: routing
            data: {
            """), sink.text)
        XCTAssertEqual(sink.ids, ["1", "2"])
        XCTAssertEqual(stream.clientCount, 1)
        sink.close()
        XCTAssertEqual(stream.clientCount, 0)
    }

    func testLastEventIDReplaysWhatTheClientMissed() throws {
        let stream = EventStream(clock: clock, firstID: 1)
        for generation in 1...5 { stream.publish(.routing, generation: UInt64(generation), [:]) }
        let resumed = try connect(stream, lastEventID: "2")
        XCTAssertEqual(resumed.ids, ["3", "4", "5"])
        XCTAssertTrue(resumed.text.contains(#""newest_id":5,"oldest_id":1,"resumed_after":2"#), resumed.text)
        XCTAssertEqual(try connect(stream, lastEventID: " 5 ").ids, [])
        XCTAssertEqual(try connect(stream, lastEventID: "").ids, [], "an empty id: start live")
    }

    func testALastEventIDNoLongerKeptGetsAResetAndTheStreamGoesOnLive() throws {
        let stream = EventStream(clock: clock, firstID: 1, capacity: 2)
        for generation in 1...5 { stream.publish(.routing, generation: UInt64(generation), [:]) }
        for lastEventID in ["2", "99", "not-a-number"] {
            let sink = try connect(stream, lastEventID: lastEventID)
            XCTAssertTrue(sink.text.contains("event: reset\ndata: {"), sink.text)
            XCTAssertTrue(sink.text.contains(#""last_event_id":"\#(lastEventID)","newest_id":5,"oldest_id":4"#), sink.text)
            XCTAssertEqual(sink.ids, ["5"], "the reset carries the newest id, so the client resumes from it")
        }
        let sink = try connect(stream, lastEventID: "2")
        stream.publish(.health, generation: 5, [:])
        XCTAssertEqual(sink.ids, ["5", "6"])
    }

    func testAClientThatDoesNotReadGetsNoMoreThanTheLowWaterMarkUntilItsSocketDrains() throws {
        let stream = EventStream(clock: clock, firstID: 1)
        let sink = try connect(stream)
        sink.stalled = true
        let big: JSONValue = .string(String(repeating: "x", count: 10_000))
        for _ in 0..<20 { stream.publish(.routing, generation: 1, ["diff": big]) }
        XCTAssertEqual(sink.ids.count, 7, "seven 10 KB events reach the 64 KiB mark")
        XCTAssertGreaterThanOrEqual(sink.unsentBytes, EventStream.lowWater)
        sink.stalled = false
        sink.drain()
        XCTAssertEqual(sink.ids, (1...20).map(String.init), "the rest follow once it drained, in order")
        XCTAssertFalse(sink.isClosed)
    }

    func testAClientThatFallsBehindTheLogIsDroppedAndCounted() throws {
        let stream = EventStream(clock: clock, firstID: 1, capacity: 8)
        let slow = try connect(stream)
        let fast = try connect(stream)
        slow.stalled = true
        let big: JSONValue = .string(String(repeating: "x", count: 30_000))
        for _ in 0..<12 { stream.publish(.routing, generation: 1, ["diff": big]) }
        XCTAssertTrue(slow.isClosed)
        XCTAssertEqual(stream.droppedSlowClients, 1)
        XCTAssertEqual(stream.clientCount, 1)
        XCTAssertEqual(fast.ids, (1...12).map(String.init))
    }

    func testNoMoreThanMaxClientsStreamAtOnce() throws {
        let stream = EventStream(clock: clock, firstID: 1)
        let sinks = try (0..<EventStream.maxClients).map { _ in try connect(stream) }
        XCTAssertThrowsError(try stream.open(lastEventID: nil, generation: 1)) { error in
            XCTAssertEqual((error as? AdminFailure)?.status, 503)
            XCTAssertEqual((error as? AdminFailure)?.code, .tooManyStreams)
        }
        XCTAssertEqual(stream.refusedClients, 1)
        sinks[0].close()
        XCTAssertNoThrow(try connect(stream))
    }

    func testAHeartbeatCommentEveryFifteenSecondsWhileClientsStream() throws {
        let stream = EventStream(clock: clock, firstID: 1)
        let idle = try connect(stream)
        let behind = try connect(stream)
        behind.stalled = true
        stream.publish(.routing, generation: 1, [:])
        clock.advance(by: EventStream.heartbeatInterval - 1)
        XCTAssertFalse(idle.text.contains(": heartbeat"))
        clock.advance(by: 1)
        XCTAssertTrue(idle.text.hasSuffix("\n\n: heartbeat\n\n"))
        XCTAssertFalse(behind.text.contains(": heartbeat"), "a client with bytes unsent gets no heartbeat on top")
        clock.advance(by: EventStream.heartbeatInterval)
        XCTAssertEqual(idle.text.components(separatedBy: ": heartbeat").count - 1, 2)
        idle.close()
        behind.close()
        XCTAssertEqual(clock.pendingTimers, 0, "no heartbeat timer without clients")
    }
}
