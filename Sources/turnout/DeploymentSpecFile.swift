import TurnoutControl
import Yams

/// A deployment spec file for `turnout deploy --file`: YAML (JSON is YAML too), sent to the API as JSON.
/// The file is only translated: what its keys mean is the API's to check, naming the field.
enum DeploymentSpecFile {
    /// Why the file gives no spec.
    struct Unreadable: Error, CustomStringConvertible {
        let description: String
    }

    /// Spec files are a page of text; the API takes at most 1 MiB.
    static let maxBytes = 1 << 20

    static func read(_ path: String) throws(Unreadable) -> JSONValue {
        let bytes: [UInt8]
        do {
            bytes = try SmallFile.read(path, limit: maxBytes)
        } catch {
            throw Unreadable(description: "cannot read \(path): \(error.reason)")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw Unreadable(description: "\(path) is not UTF-8") }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw Unreadable(description: "\(path): \(error)")
        }
        guard let root, case .mapping = root else {
            throw Unreadable(description: "\(path): expected a mapping of the spec's keys (target_group, strategy, ...)")
        }
        return try json(root, path: path)
    }

    /// The YAML node as JSON: scalars by their resolved tag (null, bool, int, float, else string), so that
    /// `500ms` and `100%` stay strings and a quoted `"10"` is not a number.
    private static func json(_ node: Node, path: String) throws(Unreadable) -> JSONValue {
        switch node {
        case .scalar:
            switch node.tag.description {
            case Tag.Name.null.rawValue: return .null
            case Tag.Name.bool.rawValue: if let value = node.bool { return .bool(value) }
            case Tag.Name.int.rawValue: if let value = node.int { return .int(Int64(value)) }
            case Tag.Name.float.rawValue: if let value = node.float, value.isFinite { return .double(value) }
            default: break
            }
            return .string(node.string ?? "")
        case .sequence(let sequence):
            var elements: [JSONValue] = []
            for element in sequence { elements.append(try json(element, path: path)) }
            return .array(elements)
        case .mapping(let mapping):
            var members: [String: JSONValue] = [:]
            for (key, value) in mapping {
                guard case .scalar = key, let name = key.string else {
                    throw Unreadable(description: "\(path): line \(key.mark?.line ?? 0): a key must be a plain name")
                }
                members[name] = try json(value, path: path)
            }
            return .object(members)
        case .alias:
            throw Unreadable(description: "\(path): line \(node.mark?.line ?? 0): aliases are not supported")
        }
    }
}
