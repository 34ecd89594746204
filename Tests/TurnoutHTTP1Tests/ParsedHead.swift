import TurnoutHTTP1
import XCTest

/// A head parsed from test bytes, keeping the bytes and the field table alive so ranges can be read back.
final class ParsedHead<Head> {
    let bytes: [UInt8]
    let fields: HeaderFieldTable
    let result: HeadParseResult<Head>

    init(_ bytes: [UInt8], capacity: Int, parse: (UnsafeRawBufferPointer, HeaderFieldTable) -> HeadParseResult<Head>) {
        self.bytes = bytes
        self.fields = HeaderFieldTable(capacity: capacity)
        let fields = self.fields
        self.result = bytes.withUnsafeBytes { parse($0, fields) }
    }

    var head: Head? {
        if case .complete(let head) = result { return head }
        return nil
    }

    var error: HeadError? {
        if case .failed(let error) = result { return error }
        return nil
    }

    func text(_ range: ByteRange) -> String {
        String(decoding: bytes[range.lowerBound..<range.upperBound], as: UTF8.self)
    }

    /// Every field as "name: value", with " [hop]" when hop-by-hop.
    var fieldLines: [String] {
        (0..<fields.count).map { index in
            let field = fields[index]
            return text(field.name) + ": " + text(field.value) + (field.isHopByHop ? " [hop]" : "")
        }
    }
}

func requestBytes(_ text: String) -> [UInt8] { [UInt8](text.utf8) }

func parseRequest(_ bytes: [UInt8], limits: HeadLimits = HeadLimits(), capacity: Int? = nil) -> ParsedHead<RequestHead>
{
    ParsedHead(bytes, capacity: capacity ?? limits.maxHeaders) { buffer, fields in
        RequestHeadParser.parse(buffer, limits: limits, fields: fields)
    }
}

func parseRequest(_ text: String, limits: HeadLimits = HeadLimits()) -> ParsedHead<RequestHead> {
    parseRequest([UInt8](text.utf8), limits: limits)
}

func parseResponse(
    _ bytes: [UInt8], method: HTTPMethod = .get, limits: HeadLimits = HeadLimits()
) -> ParsedHead<ResponseHead> {
    ParsedHead(bytes, capacity: limits.maxHeaders) { buffer, fields in
        ResponseHeadParser.parse(buffer, requestMethod: method, limits: limits, fields: fields)
    }
}

func parseResponse(
    _ text: String, method: HTTPMethod = .get, limits: HeadLimits = HeadLimits()
) -> ParsedHead<ResponseHead> {
    parseResponse([UInt8](text.utf8), method: method, limits: limits)
}
