extension HTTPMethod {
    /// Recognises the method token in `bytes[range]`.
    static func recognise(_ bytes: UnsafeRawBufferPointer, _ range: ByteRange) -> HTTPMethod {
        let token = bytes.slice(range)
        switch token.count {
        case 3:
            if token.equals("GET") { return .get }
            if token.equals("PUT") { return .put }
        case 4:
            if token.equals("HEAD") { return .head }
            if token.equals("POST") { return .post }
        case 5:
            if token.equals("PATCH") { return .patch }
            if token.equals("TRACE") { return .trace }
        case 6:
            if token.equals("DELETE") { return .delete }
        case 7:
            if token.equals("OPTIONS") { return .options }
            if token.equals("CONNECT") { return .connect }
        default:
            break
        }
        return .other
    }
}
