import ArgumentParser
import TurnoutControl

/// What the admin commands share: building the client from the options, sending, and turning every
/// failure into the CLI's message and exit status (API error 1, unreachable 3, unusable options 64).
struct AdminSession {
    static let apiErrorExit = ExitCode(1)
    static let unreachableExit = ExitCode(3)
    static let usageExit = ExitCode(64)

    let options: AdminOptions
    let endpoint: AdminEndpoint
    let client: AdminClient

    init(_ options: AdminOptions) throws {
        self.options = options
        do {
            endpoint = try options.endpoint()
        } catch {
            printError("error: \(error)")
            throw Self.usageExit
        }
        var token: String?
        if let path = options.resolvedTokenFile {
            do {
                token = try SecretFile.read(path)
            } catch {
                printError("error: \(error)")
                throw Self.usageExit
            }
        }
        client = AdminClient(endpoint: endpoint, token: token, timeoutSeconds: options.timeout)
    }

    /// Sends `request` and returns the successful response's JSON. With `--json` the body is printed as
    /// is, success or error. Failures print `error: ...` on stderr and throw the exit status.
    @discardableResult
    func perform(_ request: AdminClientRequest) throws -> JSONValue {
        try perform(request, printingJSON: options.json)
    }

    /// Sends a request the command needs for itself (the status a change is computed from), as `perform`
    /// but never printing its JSON: with `--json` only the command's own answer is printed.
    func read(_ request: AdminClientRequest) throws -> JSONValue {
        try perform(request, printingJSON: false)
    }

    private func perform(_ request: AdminClientRequest, printingJSON: Bool) throws -> JSONValue {
        let response: AdminClientResponse
        do {
            response = try client.send(request)
        } catch {
            throw unreachable(error)
        }
        return try answer(response, printingJSON: printingJSON)
    }

    /// Opens `GET /v1/events`, resuming after `lastEventID`; failures as `perform`'s.
    func events(lastEventID: String? = nil) throws -> AdminEventStream {
        let opening: AdminEventStream.Opening
        do {
            opening = try AdminEventStream.open(client, lastEventID: lastEventID)
        } catch {
            throw unreachable(error)
        }
        switch opening {
        case .streaming(let stream):
            return stream
        case .refused(let response):
            _ = try answer(response, printingJSON: false)
            printError("error: the admin API at \(endpoint) answered \(response.status) instead of an event stream")
            throw Self.apiErrorExit
        }
    }

    /// Prints why nothing usable came back and gives the exit status to throw.
    func unreachable(_ error: AdminTransportError) -> ExitCode {
        printError("error: cannot reach the admin API at \(endpoint): \(error)")
        if case .unreachable = error { printError(unreachableHint) }
        return Self.unreachableExit
    }

    /// The JSON of a successful response; an error response is printed as `error: <code>: <message>`.
    private func answer(_ response: AdminClientResponse, printingJSON: Bool) throws -> JSONValue {
        if printingJSON {
            let text = response.bodyText
            print(text, terminator: text.hasSuffix("\n") || text.isEmpty ? "" : "\n")
        }
        if response.isReplay {
            printError("note: the admin API had already applied this request; its earlier answer is shown")
        }
        let json = try? JSONReader.parse(response.body)
        guard response.isSuccess else {
            let apiError = json?["error"]
            let code = apiError?["code"]?.stringValue ?? "http_\(response.status)"
            let message = apiError?["message"]?.stringValue ?? Self.firstLine(of: response.bodyText)
            printError("error: \(code): \(message)")
            throw Self.apiErrorExit
        }
        guard let json else {
            printError("error: the admin API at \(endpoint) answered \(response.status) without a JSON body")
            throw Self.apiErrorExit
        }
        return json
    }

    /// What to do when nothing answers at the admin URL: start the proxy, or point at the one running.
    private var unreachableHint: String {
        """
        hint: is the proxy running? Start it with `make run` (the demo) or `turnout serve --config <file>`. \
        If it runs with another admin address (admin.bind), point at it with --admin http://HOST:PORT or \
        TURNOUT_ADMIN; \(endpoint) \(options.urlSource).
        """
    }

    /// Prints `text` unless `--json` already printed the API's answer.
    func show(_ text: @autoclosure () -> String) {
        guard !options.json else { return }
        let rendered = text()
        print(rendered, terminator: rendered.hasSuffix("\n") ? "" : "\n")
    }

    private static func firstLine(of text: String) -> String {
        let line = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        return line.isEmpty ? "(no message)" : String(line.prefix(200))
    }
}
