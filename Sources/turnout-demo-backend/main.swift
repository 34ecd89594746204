import Glibc

// turnout-demo-backend: a small HTTP/1.1 + WebSocket server used as the backend in demos, tests and benchmarks.
// Blocking sockets, one thread per connection; see DemoRouter for the endpoints.

let options: DemoBackendOptions
switch DemoBackendOptions.parse(Array(CommandLine.arguments.dropFirst())) {
case .run(let parsed):
    options = parsed
case .help:
    print(DemoBackendOptions.usage)
    exit(0)
case .invalid(let message):
    writeStandardError("turnout-demo-backend: \(message)\n\(DemoBackendOptions.usage)\n")
    exit(2)
}

// Block the stop signals before any thread starts so every thread inherits the mask and only sigwait sees them.
ShutdownSignals.blockInCurrentThread()
signal(SIGPIPE, SIG_IGN)

let listener: ListeningSocket
do {
    listener = try ListeningSocket(host: options.host, port: options.port, backlog: 1024)
} catch {
    writeStandardError("turnout-demo-backend: cannot listen on \(options.host):\(options.port): \(error)\n")
    exit(1)
}

let server = DemoServer(listener: listener, router: DemoRouter(name: options.name))
writeStandardError("demo backend \(options.name) listening on \(listener.boundAddressDescription)\n")
server.startAcceptingInBackground()

let stopSignal = ShutdownSignals.waitForStopSignal()
writeStandardError("demo backend \(options.name) stopping (signal \(stopSignal))\n")
exit(0)
