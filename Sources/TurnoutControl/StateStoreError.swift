import Glibc
import TurnoutPosix

/// Why the state file could not be written.
public enum StateStoreError: Error, Sendable, CustomStringConvertible {
    /// A system call on `path` failed.
    case system(SystemError, path: String)
    /// The state could not be encoded as JSON (a non-finite number in a `JSONValue`).
    case encoding(String)

    public var description: String {
        switch self {
        case .system(let error, let path): "\(error.call) \(path): \(String(cString: strerror(error.errno)))"
        case .encoding(let reason): "cannot encode the state: \(reason)"
        }
    }
}
