import ArgumentParser
import Glibc
import TurnoutControl
import TurnoutPosix

/// `--watch`: follows one deployment on `GET /v1/events` until it ends. On a terminal the view is redrawn
/// (the deployment read again at each of its events, the groups' figures once a second, the countdown);
/// otherwise each of its events prints one line (with `--json`, the event's data). The exit status says how
/// it ended: 0 Succeeded, 2 RolledBack, 1 Failed or Stopped (or an API error), 3 when the proxy is gone.
struct DeploymentWatch {
    let session: AdminSession
    let id: String
    /// Redraw a view (a terminal) or print a line per event.
    let live: Bool

    init(session: AdminSession, id: String) {
        self.session = session
        self.id = id
        live = isatty(STDOUT_FILENO) == 1 && !session.options.json
    }

    /// Follows the deployment on `stream` (opened before it was created, so that none of its events is missed)
    /// and throws the exit status its end gives.
    func follow(_ stream: AdminEventStream) throws -> Never {
        var stream = stream
        var record = try read()
        // The end is its event (all of them are in the stream, even when the deployment ended before the POST
        // answered), or the record read on a quiet stream when the event was missed.
        var ended = false
        var printedEnd = false
        var figures: JSONValue?
        var figuresRead: UInt64 = 0
        while !ended {
            let now = MonotonicClock.now()
            if live {
                if now >= figuresRead + 1_000_000_000 {
                    figures = try session.read(AdminClientRequest(.get, "/v1/status"))["figures"]?["target_groups"]
                    figuresRead = now
                }
                draw(record, figures: figures)
            }
            // A terminal's countdown moves every second; without one, a quiet stream is checked every 5 s in case
            // the end was missed (a reconnect after it was no longer kept).
            let wait: UInt64 = live ? 1_000_000_000 : 5_000_000_000
            let event: AdminEventStream.Event?
            do {
                event = try stream.next(until: now + wait)
            } catch {
                stream = try session.events(lastEventID: stream.lastEventID)
                continue
            }
            guard let event else {
                record = try read()
                ended = !DeploymentText.isActive(record)
                continue
            }
            if event.kind == "reset" {
                record = try read()
                if !live { printEvent(record.withEventMembers(time: event.data["time"])) }
                ended = !DeploymentText.isActive(record)
                printedEnd = ended
            } else if event.kind == "deployment", event.data["deployment"]?.stringValue == id {
                if !live { printEvent(event.data) }
                record = live ? try read() : record.merging(event.data)
                ended = !DeploymentText.isActive(event.data)
                printedEnd = ended
            }
        }
        if !live && !printedEnd {
            // The end came while the stream was away: its line from the record.
            printEvent(record.withEventMembers(time: record["updated"]))
        }
        if live {
            figures = try session.read(AdminClientRequest(.get, "/v1/status"))["figures"]?["target_groups"]
            draw(record, figures: figures)
        }
        let status = record["status"]?.stringValue ?? "?"
        throw ExitCode(DeploymentText.finalStatuses[status] ?? 1)
    }

    private func read() throws -> JSONValue {
        try session.read(AdminClientRequest(.get, "/v1/deployments/\(AdminPath.segment(id))"))
    }

    /// Clears the screen and draws the view from its top left corner.
    private func draw(_ record: JSONValue, figures: JSONValue?) {
        let view = DeploymentText.view(record, now: AuditTimestamp.nowMilliseconds(), figures: figures)
        printLine("\u{1B}[H\u{1B}[2J" + view)
    }

    /// An event's line, or with `--json` its data.
    private func printEvent(_ data: JSONValue) {
        printLine(session.options.json ? data.jsonText : DeploymentText.eventLine(data))
    }

    /// Writes a line now (standard output is buffered when it is not a terminal).
    private func printLine(_ text: String) {
        print(text)
        fflush(nil)
    }
}

extension JSONValue {
    /// This deployment record with an event's members over its own (the event is the newer of the two).
    fileprivate func merging(_ event: JSONValue) -> JSONValue {
        guard var members = objectValue, let newer = event.objectValue else { return self }
        for (key, value) in newer where key != "id" { members[key] = value }
        return .object(members)
    }

    /// A record printed as an event line: its id as `deployment` and the time given.
    fileprivate func withEventMembers(time: JSONValue?) -> JSONValue {
        guard var members = objectValue else { return self }
        members["deployment"] = members["id"]
        members["time"] = time ?? members["updated"]
        return .object(members)
    }
}
