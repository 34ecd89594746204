import Glibc

/// Writes a line to standard error (messages for people, not logs).
func printError(_ message: String) {
    let line = message + "\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
}
