/// SHA-1 (FIPS 180-4), one-shot. Used only for the WebSocket handshake (`Sec-WebSocket-Accept`), where RFC 6455
/// prescribes it.
enum SHA1 {
    static func digest(of message: [UInt8]) -> [UInt8] {
        var h: [UInt32] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0]
        var padded = message
        padded.append(0x80)
        while padded.count % 64 != 56 { padded.append(0) }
        let bitLength = UInt64(message.count) &* 8
        for shift in stride(from: 56, through: 0, by: -8) { padded.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift))) }

        var w = [UInt32](repeating: 0, count: 80)
        for blockStart in stride(from: 0, to: padded.count, by: 64) {
            for index in 0..<16 {
                let byteIndex = blockStart + index * 4
                w[index] = UInt32(padded[byteIndex]) << 24 | UInt32(padded[byteIndex + 1]) << 16
                    | UInt32(padded[byteIndex + 2]) << 8 | UInt32(padded[byteIndex + 3])
            }
            for index in 16..<80 {
                w[index] = (w[index - 3] ^ w[index - 8] ^ w[index - 14] ^ w[index - 16]).rotatedLeft(1)
            }
            var a = h[0], b = h[1], c = h[2], d = h[3], e = h[4]
            for index in 0..<80 {
                let f: UInt32
                let k: UInt32
                switch index {
                case 0..<20: f = (b & c) | (~b & d); k = 0x5A827999
                case 20..<40: f = b ^ c ^ d; k = 0x6ED9EBA1
                case 40..<60: f = (b & c) | (b & d) | (c & d); k = 0x8F1BBCDC
                default: f = b ^ c ^ d; k = 0xCA62C1D6
                }
                let temp = a.rotatedLeft(5) &+ f &+ e &+ k &+ w[index]
                e = d
                d = c
                c = b.rotatedLeft(30)
                b = a
                a = temp
            }
            h[0] &+= a; h[1] &+= b; h[2] &+= c; h[3] &+= d; h[4] &+= e
        }
        return h.flatMap { word in
            [UInt8(word >> 24), UInt8(truncatingIfNeeded: word >> 16), UInt8(truncatingIfNeeded: word >> 8),
             UInt8(truncatingIfNeeded: word)]
        }
    }
}
