import TurnoutHTTP1

/// A worker's free lists of I/O buffers and header tables. Connections borrow them
/// when they have work and give them back when idle, so an idle keep-alive connection
/// holds no buffer and steady-state traffic allocates nothing; what a burst left behind
/// is freed within seconds (`IdleList`).
final class BufferPool {
    let bufferCapacity: Int
    let headerCapacity: Int
    private var buffers: IdleList<IOBuffer>
    private var tables: IdleList<HeaderFieldTable>
    /// Bytes of buffers and tables freed since the last `takeFreedBytes`.
    private var freedBytes = 0

    init(bufferCapacity: Int, headerCapacity: Int, retainLimit: Int = 1024, reserve: Int = 64) {
        self.bufferCapacity = bufferCapacity
        self.headerCapacity = headerCapacity
        buffers = IdleList(limit: retainLimit, reserve: reserve)
        tables = IdleList(limit: retainLimit, reserve: reserve)
    }

    var idleBuffers: Int { buffers.count }
    var idleTables: Int { tables.count }

    @inline(__always) func takeBuffer() -> IOBuffer {
        buffers.pop() ?? IOBuffer(capacity: bufferCapacity)
    }

    @inline(__always) func give(_ buffer: IOBuffer) {
        buffer.reset()
        if !buffers.push(buffer) { freedBytes &+= bufferCapacity }
    }

    @inline(__always) func takeTable() -> HeaderFieldTable {
        tables.pop() ?? HeaderFieldTable(capacity: headerCapacity)
    }

    @inline(__always) func give(_ table: HeaderFieldTable) {
        if !tables.push(table) { freedBytes &+= tableBytes }
    }

    /// Frees the buffers and tables that went unused for the last period (see `IdleList.trim`).
    func trim() {
        freedBytes &+= buffers.trim() * bufferCapacity + tables.trim() * tableBytes
    }

    /// Bytes freed since the last call (beyond the high-water mark, and by `trim`).
    func takeFreedBytes() -> Int {
        defer { freedBytes = 0 }
        return freedBytes
    }

    private var tableBytes: Int { headerCapacity * MemoryLayout<HeaderField>.stride }
}
