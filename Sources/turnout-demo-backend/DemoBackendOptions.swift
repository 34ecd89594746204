/// Command-line options of `turnout-demo-backend`: four flags, parsed by hand (`--flag value` or `--flag=value`;
/// an invalid command line prints the usage and exits with status 2).
struct DemoBackendOptions: Sendable {
    static let usage = """
        usage: turnout-demo-backend --port PORT --name NAME [--host ADDRESS]

          --port PORT      TCP port to listen on (0 picks a free port; the log line names it)
          --name NAME      name reported in every response (X-Served-By) and in the / body
          --host ADDRESS   IPv4 or IPv6 address to bind (default 127.0.0.1)
          -h, --help       show this help
        """

    var host = "127.0.0.1"
    var port: UInt16
    var name: String

    /// The outcome of parsing: options to run with, a request for help, or an error message.
    enum ParseResult {
        case run(DemoBackendOptions)
        case help
        case invalid(String)
    }

    /// Parses `arguments` (without the program name). Accepts `--flag value` and `--flag=value`.
    static func parse(_ arguments: [String]) -> ParseResult {
        var host: String?
        var port: UInt16?
        var name: String?
        var remaining = arguments[...]
        while let argument = remaining.popFirst() {
            if argument == "-h" || argument == "--help" { return .help }
            let flag: String
            let value: String
            if let equals = argument.firstIndex(of: "="), argument.hasPrefix("--") {
                flag = String(argument[..<equals])
                value = String(argument[argument.index(after: equals)...])
            } else {
                guard let next = remaining.popFirst() else { return .invalid("missing value for \(argument)") }
                flag = argument
                value = next
            }
            switch flag {
            case "--host":
                guard !value.isEmpty else { return .invalid("--host must not be empty") }
                host = value
            case "--port":
                guard let parsed = UInt16(value) else { return .invalid("--port expects 0-65535, got '\(value)'") }
                port = parsed
            case "--name":
                guard !value.isEmpty, value.allSatisfy({ $0.isASCII && !$0.isWhitespace && !$0.isNewline }) else {
                    return .invalid("--name expects a non-empty token without spaces, got '\(value)'")
                }
                name = value
            default:
                return .invalid("unknown argument '\(argument)'")
            }
        }
        guard let port else { return .invalid("--port is required") }
        guard let name else { return .invalid("--name is required") }
        return .run(DemoBackendOptions(host: host ?? "127.0.0.1", port: port, name: name))
    }
}
