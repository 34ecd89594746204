import COpenSSL
import Synchronization

/// An HTTPS listener's session ticket keys, shared by every worker so that a client resumes whichever worker
/// accepts it. The newest key issues tickets; the one before it still opens tickets issued before the last
/// rotation (renewing them under the newest), as nginx and HAProxy keep several keys. `rotate()` draws a new
/// key and retires the oldest: a ticket resumes until its key is two rotations old.
///
/// A key is 80 random bytes: the 16-byte name a ticket carries, a 32-byte HMAC-SHA256 key, a 32-byte AES-256 key.
public final class SessionTicketKeys: Sendable {
    public static let keyLength = 80
    /// Keys in use: the newest and the previous one.
    public static let kept = 2

    /// Newest first, `keyLength` bytes each.
    private let keys: Mutex<[UInt8]>
    private let rotated = Atomic<Int>(0)

    /// A ring with one key, drawn now.
    public init() {
        keys = Mutex(Self.drawKey())
    }

    /// Rotations since the ring was made.
    public var rotations: Int { rotated.load(ordering: .relaxed) }

    /// Draws a new newest key; the oldest beyond `kept` no longer opens its tickets.
    public func rotate() {
        let key = Self.drawKey()
        keys.withLock { current in
            current = key + current.prefix((Self.kept - 1) * Self.keyLength)
        }
        rotated.add(1, ordering: .relaxed)
    }

    /// Copies the newest key into `into` (`keyLength` bytes).
    func copyNewest(into destination: UnsafeMutableRawPointer) {
        keys.withLock { current in
            current.withUnsafeBytes { destination.copyMemory(from: $0.baseAddress!, byteCount: Self.keyLength) }
        }
    }

    /// Copies the key named `name` (16 bytes) into `into`: its place (0 for the newest), or nil when no kept key
    /// has that name.
    func copyKey(named name: UnsafeRawPointer, into destination: UnsafeMutableRawPointer) -> Int? {
        keys.withLock { current in
            current.withUnsafeBytes { bytes in
                for place in 0..<(bytes.count / Self.keyLength) {
                    let key = bytes.baseAddress! + place * Self.keyLength
                    if memcmp(key, name, 16) == 0 {
                        destination.copyMemory(from: key, byteCount: Self.keyLength)
                        return place
                    }
                }
                return nil
            }
        }
    }

    private static func drawKey() -> [UInt8] {
        var key = [UInt8](repeating: 0, count: keyLength)
        // Cannot fail once OpenSSL's generator is seeded, which it is from getrandom(2) on any kernel Turnout runs on.
        precondition(RAND_bytes(&key, Int32(keyLength)) == 1, "OpenSSL could not draw random bytes")
        return key
    }
}
