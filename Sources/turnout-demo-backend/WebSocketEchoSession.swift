/// The WebSocket side of `/ws` (RFC 6455): every text, binary or continuation frame is sent back unmasked with the
/// same FIN bit and opcode (so fragmented messages come back fragmented alike), pings are answered with pongs,
/// pongs are ignored, and a close is answered with a close carrying the same status code.
struct WebSocketEchoSession {
    static let maximumPayloadBytes = 16 * 1024 * 1024

    /// RFC 6455 §5.2 opcodes.
    enum Opcode: UInt8 {
        case continuation = 0x0
        case text = 0x1
        case binary = 0x2
        case close = 0x8
        case ping = 0x9
        case pong = 0xA
    }

    /// Close status codes this session sends on protocol violations (RFC 6455 §7.4.1).
    enum CloseCode: UInt16 {
        case protocolError = 1002
        case messageTooBig = 1009
    }

    let stream: ConnectionStream

    func run() {
        defer { stream.closeGracefully() }
        do {
            while true {
                let header = try stream.readExactly(2)
                let isFinal = header[0] & 0x80 != 0
                let reservedBits = header[0] & 0x70
                let isMasked = header[1] & 0x80 != 0
                guard reservedBits == 0, isMasked, let opcode = Opcode(rawValue: header[0] & 0x0f) else {
                    return try sendClose(code: .protocolError)
                }
                var length = UInt64(header[1] & 0x7f)
                if length == 126 {
                    length = try stream.readExactly(2).reduce(0) { $0 << 8 | UInt64($1) }
                } else if length == 127 {
                    length = try stream.readExactly(8).reduce(0) { $0 << 8 | UInt64($1) }
                }
                let isControl = opcode.rawValue & 0x8 != 0
                if isControl, length > 125 || !isFinal { return try sendClose(code: .protocolError) }
                guard length <= UInt64(Self.maximumPayloadBytes) else { return try sendClose(code: .messageTooBig) }

                let mask = try stream.readExactly(4)
                var payload = try stream.readExactly(Int(length))
                for index in payload.indices { payload[index] ^= mask[index & 3] }

                switch opcode {
                case .continuation, .text, .binary:
                    try sendFrame(isFinal: isFinal, opcode: opcode, payload: payload)
                case .ping:
                    try sendFrame(isFinal: true, opcode: .pong, payload: payload)
                case .pong:
                    continue
                case .close:
                    // Echo the status code (not the reason) as RFC 6455 §5.5.1 suggests.
                    try sendFrame(isFinal: true, opcode: .close, payload: Array(payload.prefix(2)))
                    return
                }
            }
        } catch {
            return
        }
    }

    private func sendClose(code: CloseCode) throws {
        try sendFrame(isFinal: true, opcode: .close, payload: [UInt8(code.rawValue >> 8), UInt8(code.rawValue & 0xff)])
    }

    /// Writes one unmasked frame (servers never mask, §5.1).
    private func sendFrame(isFinal: Bool, opcode: Opcode, payload: [UInt8]) throws {
        var frame: [UInt8] = [(isFinal ? 0x80 : 0) | opcode.rawValue]
        switch payload.count {
        case 0...125:
            frame.append(UInt8(payload.count))
        case 126...0xffff:
            frame += [126, UInt8(payload.count >> 8), UInt8(payload.count & 0xff)]
        default:
            frame.append(127)
            for shift in stride(from: 56, through: 0, by: -8) { frame.append(UInt8(truncatingIfNeeded: payload.count >> shift)) }
        }
        frame += payload
        try stream.write(frame)
    }
}
