import TurnoutHTTP1

/// The client side's buffers: borrowed from the worker's pool as one when request bytes arrive, given back when
/// the connection goes idle or closes.
final class ClientBuffers {
    let input: IOBuffer
    let output: IOBuffer
    /// The fields of the request head being parsed or forwarded.
    let fields: HeaderFieldTable

    init(bufferCapacity: Int, headerCapacity: Int) {
        input = IOBuffer(capacity: bufferCapacity)
        output = IOBuffer(capacity: bufferCapacity)
        fields = HeaderFieldTable(capacity: headerCapacity)
    }
}
