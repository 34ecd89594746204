import TurnoutPosix

/// Why the state could not be written (or, at start, why `state_dir` cannot hold it).
public enum StateStoreError: Error, Sendable, CustomStringConvertible {
    /// A system call on a state file failed.
    case file(FileError)
    /// The state could not be encoded as JSON (a non-finite number in a `JSONValue`).
    case encoding(String)
    /// The journal may hold part of a record that could not be cut away, so nothing can be
    /// appended after it until it is; says why.
    case unsound(String)
    /// `path` cannot hold state at all (a file where a directory belongs, or the reverse).
    case unusable(path: String, reason: String)

    public var description: String {
        switch self {
        case .file(let error): "\(error)"
        case .encoding(let reason): "cannot encode the state: \(reason)"
        case .unsound(let problem): "the state journal is unsound: \(problem)"
        case .unusable(let path, let reason): "\(path) \(reason)"
        }
    }
}
