import TurnoutHTTP1
import TurnoutMetrics

/// A worker's free lists: client buffers, upstream links (each with its buffers), exchange and tunnel records.
/// Connections borrow them when they have work and give them back when idle, so an idle keep-alive connection
/// holds none and steady-state traffic allocates nothing; what a burst left behind is freed within seconds
/// (`IdleList`). A record in a list may still refer to what it last served: it is readied anew when taken.
final class BufferPool {
    let bufferCapacity: Int
    let headerCapacity: Int
    private var clientBuffers: IdleList<ClientBuffers>
    private var links: IdleList<UpstreamLink>
    private var exchanges: IdleList<Exchange>
    private var tunnels: IdleList<Tunnel>
    /// Bytes freed since the last `takeFreedBytes`.
    private var freedBytes = 0

    /// `retainLimit` and `reserve` apply to the buffer-holding lists (client buffers, links), each holding two
    /// buffers; the records' lists keep twice as many.
    init(bufferCapacity: Int, headerCapacity: Int, retainLimit: Int = 512, reserve: Int = 32) {
        self.bufferCapacity = bufferCapacity
        self.headerCapacity = headerCapacity
        clientBuffers = IdleList(limit: retainLimit, reserve: reserve)
        links = IdleList(limit: retainLimit, reserve: reserve)
        exchanges = IdleList(limit: 2 * retainLimit, reserve: 2 * reserve)
        tunnels = IdleList(limit: retainLimit, reserve: reserve)
    }

    var idleClientBuffers: Int { clientBuffers.count }
    var idleLinks: Int { links.count }

    @inline(__always) func takeClientBuffers() -> ClientBuffers {
        clientBuffers.pop() ?? ClientBuffers(bufferCapacity: bufferCapacity, headerCapacity: headerCapacity)
    }

    @inline(__always) func give(_ buffers: ClientBuffers) {
        buffers.input.reset()
        buffers.output.reset()
        if !clientBuffers.push(buffers) { freedBytes &+= clientBuffersBytes }
    }

    /// A link for `connection`, with empty buffers.
    @inline(__always) func takeLink(to connection: UpstreamConnection, counters: RouteCounters,
                                    responseTimeout: UInt64) -> UpstreamLink {
        guard let link = links.pop() else {
            return UpstreamLink(bufferCapacity: bufferCapacity, connection: connection, counters: counters,
                                responseTimeout: responseTimeout)
        }
        link.attach(connection, counters: counters, responseTimeout: responseTimeout)
        return link
    }

    @inline(__always) func give(_ link: UpstreamLink) {
        link.input.reset()
        link.output.reset()
        if !links.push(link) { freedBytes &+= 2 * bufferCapacity }
    }

    /// An exchange record for a request whose head is in `buffers`.
    @inline(__always) func takeExchange(buffers: ClientBuffers) -> Exchange {
        guard let exchange = exchanges.pop() else { return Exchange(buffers: buffers) }
        exchange.buffers = buffers
        return exchange
    }

    /// Takes back an exchange record, dropping the relays of spans it was splicing (their owner has them).
    @inline(__always) func give(_ exchange: Exchange) {
        exchange.clear()
        if !exchanges.push(exchange) { freedBytes &+= Exchange.approximateBytes }
    }

    @inline(__always) func takeTunnel(buffers: ClientBuffers, link: UpstreamLink) -> Tunnel {
        guard let tunnel = tunnels.pop() else { return Tunnel(buffers: buffers, link: link) }
        tunnel.start(buffers: buffers, link: link)
        return tunnel
    }

    @inline(__always) func give(_ tunnel: Tunnel) {
        tunnel.clear()
        if !tunnels.push(tunnel) { freedBytes &+= Tunnel.approximateBytes }
    }

    /// Frees the records that went unused for the last period (see `IdleList.trim`).
    func trim() {
        freedBytes &+= clientBuffers.trim() * clientBuffersBytes + links.trim() * 2 * bufferCapacity
            + exchanges.trim() * Exchange.approximateBytes + tunnels.trim() * Tunnel.approximateBytes
    }

    /// Bytes freed since the last call (beyond the high-water mark, and by `trim`).
    func takeFreedBytes() -> Int {
        defer { freedBytes = 0 }
        return freedBytes
    }

    private var clientBuffersBytes: Int { 2 * bufferCapacity + headerCapacity * MemoryLayout<HeaderField>.stride }
}
