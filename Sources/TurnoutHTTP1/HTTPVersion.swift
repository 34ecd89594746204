/// The HTTP/1.x versions Turnout speaks. Anything else is refused while parsing.
public enum HTTPVersion: UInt8, Sendable {
    case http10
    case http11
}
