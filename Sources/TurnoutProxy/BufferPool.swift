import TurnoutHTTP1

/// A worker's free lists of I/O buffers and header tables. Connections borrow them
/// when they have work and give them back when idle, so an idle keep-alive connection
/// holds no buffer and steady-state traffic allocates nothing.
final class BufferPool {
    let bufferCapacity: Int
    let headerCapacity: Int
    private var buffers: [IOBuffer] = []
    private var tables: [HeaderFieldTable] = []
    /// How many idle buffers to keep before freeing returned ones.
    private let retainLimit: Int

    init(bufferCapacity: Int, headerCapacity: Int, retainLimit: Int = 1024) {
        self.bufferCapacity = bufferCapacity
        self.headerCapacity = headerCapacity
        self.retainLimit = retainLimit
        buffers.reserveCapacity(retainLimit)
        tables.reserveCapacity(retainLimit)
    }

    @inline(__always) func takeBuffer() -> IOBuffer {
        if let buffer = buffers.popLast() { return buffer }
        return IOBuffer(capacity: bufferCapacity)
    }

    @inline(__always) func give(_ buffer: IOBuffer) {
        buffer.reset()
        if buffers.count < retainLimit { buffers.append(buffer) }
    }

    @inline(__always) func takeTable() -> HeaderFieldTable {
        if let table = tables.popLast() { return table }
        return HeaderFieldTable(capacity: headerCapacity)
    }

    @inline(__always) func give(_ table: HeaderFieldTable) {
        if tables.count < retainLimit { tables.append(table) }
    }
}
