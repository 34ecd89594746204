import Glibc
import TurnoutCore

/// One request as the access log records it: numbers, and text lent as bytes (the client's address, the copies the
/// exchange made of its request line and headers) or as strings made once (listener, group and target names).
/// Nothing here is made per request.
struct AccessLogEntry {
    /// Wall-clock time the line is written, in nanoseconds since the Unix epoch.
    var time: UInt64
    var client: UnsafeRawBufferPointer
    var listener: String
    /// The listener rule that took the request; nil: the listener's own forward (or none: not routed).
    var rule: String? = nil
    /// The routed group and target; nil when the request was never routed (a malformed head, no target).
    var group: String?
    var target: String?
    var status: UInt16
    /// Request bytes read from the client (head and body as framed); response bytes written to it.
    var bytesIn: Int
    var bytesOut: Int
    /// From the complete request head to the end of the response, in nanoseconds.
    var duration: UInt64
    /// From the last attempt's routing to the upstream's final response head; nil: no upstream response.
    var upstreamDuration: UInt64?
    var retried: Bool
    /// The copies the exchange made (`AccessLogText`); nil for a request whose head did not parse.
    var text: AccessLogText?
}

/// Writes access log lines into a caller's buffer, without allocating: `combined` (Apache's and nginx's combined
/// format, then the proxy's own fields as `key=value`) or `json` (one object per line). Text from the request is
/// escaped (combined: `\"`, `\\` and `\xHH` for control and non-ASCII bytes, as nginx does; JSON: `\u00HH`), so a
/// line is always one line and always valid JSON. Pure: the tests compare its bytes.
///
/// The time's text is made once a second: `[27/Nov/2026:15:10:00 +0000]` and `2026-11-27T15:10:00` stay in the
/// value between lines.
struct AccessLogLine {
    /// The longest line: the request's copied text (at most `AccessLogText.capacity` bytes) escaped six times over,
    /// plus the fixed fields.
    static let capacity = AccessLogText.capacity * 6 + 1024

    private var second: Int = -1
    /// `27/Nov/2026:15:10:00 +0000` (26 bytes) and `2026-11-27T15:10:00` (19 bytes).
    private var commonTime = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
    private var isoTime = (UInt64(0), UInt64(0), UInt64(0))

    /// Writes `entry` as a line (with its newline) at the start of `buffer` (at least `capacity` bytes); returns
    /// its length.
    mutating func write(_ entry: AccessLogEntry, format: AccessLogFormat, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        precondition(buffer.count >= Self.capacity)
        updateTime(entry.time)
        var out = LineOutput(buffer)
        switch format {
        case .combined: writeCombined(entry, &out)
        case .json: writeJSON(entry, &out)
        }
        out.byte(0x0A)
        return out.count
    }

    private func writeCombined(_ entry: AccessLogEntry, _ out: inout LineOutput) {
        out.bytes(entry.client)
        out.literal(" - - [")
        withUnsafeBytes(of: commonTime) { out.bytes(UnsafeRawBufferPointer(rebasing: $0[0..<26])) }
        out.literal("] \"")
        if let text = entry.text, !text.method.isEmpty {
            out.escapedCombined(text.method)
            out.byte(0x20)
            out.escapedCombined(text.target)
            out.byte(0x20)
            out.escapedCombined(text.version)
        } else {
            out.byte(0x2D)
        }
        out.literal("\" ")
        out.decimal(UInt64(entry.status))
        out.byte(0x20)
        out.decimal(UInt64(entry.bytesOut))
        out.literal(" \"")
        out.escapedCombined(orDash: entry.text?.referer)
        out.literal("\" \"")
        out.escapedCombined(orDash: entry.text?.userAgent)
        out.literal("\" listener=")
        out.string(entry.listener)
        out.literal(" rule=")
        out.string(orDash: entry.rule)
        out.literal(" group=")
        out.string(orDash: entry.group)
        out.literal(" target=")
        out.string(orDash: entry.target)
        out.literal(" request_id=")
        out.escapedCombined(orDash: entry.text?.requestId)
        out.literal(" bytes_in=")
        out.decimal(UInt64(entry.bytesIn))
        out.literal(" duration_ms=")
        out.milliseconds(entry.duration)
        out.literal(" upstream_ms=")
        if let upstream = entry.upstreamDuration { out.milliseconds(upstream) } else { out.byte(0x2D) }
        out.literal(entry.retried ? " retried=1" : " retried=0")
    }

    private func writeJSON(_ entry: AccessLogEntry, _ out: inout LineOutput) {
        out.literal("{\"time\":\"")
        withUnsafeBytes(of: isoTime) { out.bytes(UnsafeRawBufferPointer(rebasing: $0[0..<19])) }
        out.byte(0x2E)
        out.decimal(entry.time / 1_000_000 % 1000, digits: 3)
        out.literal("Z\",\"client\":\"")
        out.escapedJSON(entry.client)
        out.literal("\",\"listener\":")
        out.jsonString(entry.listener)
        out.literal(",\"rule\":")
        out.jsonString(entry.rule)
        out.literal(",\"method\":")
        let text = entry.text.flatMap { $0.method.isEmpty ? nil : $0 }
        out.jsonString(text?.method)
        out.literal(",\"path\":")
        out.jsonString(text?.target)
        out.literal(",\"protocol\":")
        out.jsonString(text?.version)
        out.literal(",\"status\":")
        out.decimal(UInt64(entry.status))
        out.literal(",\"bytes_in\":")
        out.decimal(UInt64(entry.bytesIn))
        out.literal(",\"bytes_out\":")
        out.decimal(UInt64(entry.bytesOut))
        out.literal(",\"duration_ms\":")
        out.milliseconds(entry.duration)
        out.literal(",\"upstream_ms\":")
        if let upstream = entry.upstreamDuration { out.milliseconds(upstream) } else { out.literal("null") }
        out.literal(",\"group\":")
        out.jsonString(entry.group)
        out.literal(",\"target\":")
        out.jsonString(entry.target)
        out.literal(",\"request_id\":")
        out.jsonString(entry.text?.requestId)
        out.literal(entry.retried ? ",\"retried\":true" : ",\"retried\":false")
        out.literal(",\"referer\":")
        out.jsonString(entry.text?.referer)
        out.literal(",\"user_agent\":")
        out.jsonString(entry.text?.userAgent)
        out.byte(0x7D)
    }

    /// Makes the time's text again when the second changed (`gmtime_r`: no allocation, no time zone file).
    private mutating func updateTime(_ nanoseconds: UInt64) {
        let seconds = Int(nanoseconds / 1_000_000_000)
        guard seconds != second else { return }
        second = seconds
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        let months: StaticString = "JanFebMarAprMayJunJulAugSepOctNovDec"
        let year = Int(parts.tm_year) + 1900, month = Int(parts.tm_mon), day = Int(parts.tm_mday)
        let hour = Int(parts.tm_hour), minute = Int(parts.tm_min), sec = Int(parts.tm_sec)
        withUnsafeMutableBytes(of: &commonTime) { raw in
            var out = LineOutput(raw)
            out.decimal(UInt64(day), digits: 2)
            out.byte(0x2F)
            out.bytes(UnsafeRawBufferPointer(start: months.utf8Start + month * 3, count: 3))
            out.byte(0x2F)
            out.decimal(UInt64(year), digits: 4)
            out.byte(0x3A)
            out.timeOfDay(hour, minute, sec)
            out.literal(" +0000")
        }
        withUnsafeMutableBytes(of: &isoTime) { raw in
            var out = LineOutput(raw)
            out.decimal(UInt64(year), digits: 4)
            out.byte(0x2D)
            out.decimal(UInt64(month + 1), digits: 2)
            out.byte(0x2D)
            out.decimal(UInt64(day), digits: 2)
            out.byte(0x54)
            out.timeOfDay(hour, minute, sec)
        }
    }
}

/// Bytes appended to a fixed buffer; what does not fit is dropped (the line's capacity is sized so that nothing
/// is).
private struct LineOutput {
    let base: UnsafeMutableRawBufferPointer
    private(set) var count = 0

    init(_ base: UnsafeMutableRawBufferPointer) { self.base = base }

    @inline(__always) mutating func byte(_ value: UInt8) {
        guard count < base.count else { return }
        base[count] = value
        count += 1
    }

    mutating func bytes(_ source: UnsafeRawBufferPointer) {
        let n = min(source.count, base.count - count)
        guard n > 0 else { return }
        UnsafeMutableRawBufferPointer(rebasing: base[count..<count + n]).copyMemory(from: UnsafeRawBufferPointer(rebasing: source[0..<n]))
        count += n
    }

    mutating func literal(_ text: StaticString) {
        bytes(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// A name made once (listener, group, target); names are plain ASCII, checked by the configuration.
    mutating func string(_ text: String) {
        for unit in text.utf8 { byte(unit) }
    }

    mutating func string(orDash text: String?) {
        if let text { string(text) } else { byte(0x2D) }
    }

    /// `value` in decimal, at least `digits` wide (zero-padded).
    mutating func decimal(_ value: UInt64, digits: Int = 1) {
        var scratch: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: UInt64.max has 20 digits
        withUnsafeMutableBytes(of: &scratch) { digitsOut in
            var n = value, length = 0
            repeat {
                digitsOut[23 - length] = UInt8(truncatingIfNeeded: 0x30 + n % 10)
                n /= 10
                length += 1
            } while n > 0 || length < digits
            bytes(UnsafeRawBufferPointer(rebasing: digitsOut[(24 - length)...]))
        }
    }

    /// `HH:MM:SS`.
    mutating func timeOfDay(_ hour: Int, _ minute: Int, _ second: Int) {
        decimal(UInt64(hour), digits: 2)
        byte(0x3A)
        decimal(UInt64(minute), digits: 2)
        byte(0x3A)
        decimal(UInt64(second), digits: 2)
    }

    /// Nanoseconds as milliseconds with three decimals (microseconds).
    mutating func milliseconds(_ nanoseconds: UInt64) {
        let micros = nanoseconds / 1000
        decimal(micros / 1000)
        byte(0x2E)
        decimal(micros % 1000, digits: 3)
    }

    mutating func escapedCombined(_ text: UnsafeRawBufferPointer) {
        for value in text {
            if value == 0x22 || value == 0x5C || value < 0x20 || value >= 0x7F {
                byte(0x5C)
                byte(0x78)
                hex(value)
            } else {
                byte(value)
            }
        }
    }

    mutating func escapedCombined(orDash text: UnsafeRawBufferPointer?) {
        if let text, !text.isEmpty { escapedCombined(text) } else { byte(0x2D) }
    }

    mutating func escapedJSON(_ text: UnsafeRawBufferPointer) {
        for value in text {
            if value == 0x22 || value == 0x5C {
                byte(0x5C)
                byte(value)
            } else if value < 0x20 || value >= 0x80 {
                // A byte above 0x7F is shown as the Latin-1 character: the line stays valid UTF-8 and JSON
                // whatever the client sent.
                literal("\\u00")
                hex(value)
            } else {
                byte(value)
            }
        }
    }

    /// A JSON string, or null.
    mutating func jsonString(_ text: UnsafeRawBufferPointer?) {
        guard let text else { return literal("null") }
        byte(0x22)
        escapedJSON(text)
        byte(0x22)
    }

    mutating func jsonString(_ text: String?) {
        guard let text else { return literal("null") }
        byte(0x22)
        for unit in text.utf8 {
            withUnsafeBytes(of: unit) { escapedJSON($0) }
        }
        byte(0x22)
    }

    private mutating func hex(_ value: UInt8) {
        let digits: StaticString = "0123456789abcdef"
        byte(digits.utf8Start[Int(value >> 4)])
        byte(digits.utf8Start[Int(value & 0x0F)])
    }
}
