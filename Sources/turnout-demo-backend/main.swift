import Glibc
import TurnoutPosix

// turnout-demo-backend: a small HTTP/1.1 + WebSocket server used as the backend in demos, tests and benchmarks.
// TurnoutHTTP1 reads its requests, TurnoutPosix carries its sockets and threads; DemoServer accepts, a thread per
// connection serves (DemoConnection), and DemoRouter has the endpoints.

let options: DemoBackendOptions
switch DemoBackendOptions.parse(Array(CommandLine.arguments.dropFirst())) {
case .run(let parsed):
    options = parsed
case .help:
    print(DemoBackendOptions.usage)
    exit(0)
case .invalid(let message):
    FileIO.writeStandardError("turnout-demo-backend: \(message)\n\(DemoBackendOptions.usage)\n")
    exit(2)
}

// Block the stop signals before any thread starts, so every thread inherits the mask and they arrive only on the
// signalfd. Sockets are written with MSG_NOSIGNAL; standard error may be a pipe whose reader is gone.
let stopSignalNumbers = [SIGTERM, SIGINT]
SignalDescriptor.block(stopSignalNumbers)
signal(SIGPIPE, SIG_IGN)

let listener: Int32
let boundAddress: SocketAddress
let stopSignals: SignalDescriptor
do {
    stopSignals = try SignalDescriptor(stopSignalNumbers)
    listener = try Socket.listen(on: SocketAddress.resolve(host: options.host, port: options.port), reusePort: false)
    // Inherited by every accepted connection: a response's last segment goes out without waiting for an ACK.
    Socket.setNoDelay(listener)
    boundAddress = try Socket.localAddress(listener)
} catch {
    FileIO.writeStandardError("turnout-demo-backend: cannot listen on \(options.host):\(options.port): \(error)\n")
    exit(1)
}

FileIO.writeStandardError("demo backend \(options.name) listening on \(boundAddress)\n")
do {
    let stopSignal = try DemoServer(listener: listener, router: DemoRouter(name: options.name)).run(until: stopSignals)
    FileIO.writeStandardError("demo backend \(options.name) stopping (signal \(stopSignal))\n")
    exit(0)
} catch {
    FileIO.writeStandardError("turnout-demo-backend: \(error)\n")
    exit(1)
}
