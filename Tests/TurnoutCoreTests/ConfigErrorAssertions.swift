import TurnoutCore
import XCTest

/// A valid configuration with one listener and one group, for tests that break one thing at a time.
let minimalConfigYAML = """
    listeners:
      production: { bind: 0.0.0.0:8080, forward: { blue: 100 } }
    target_groups:
      blue: { targets: [127.0.0.1:3000] }
    """

/// Asserts that parsing `yaml` fails with exactly `key`, with `line` when given, and a message containing
/// `message`.
func assertConfigError(
    _ yaml: String,
    key: String,
    line: Int? = nil,
    message: String,
    file: StaticString = #filePath,
    line testLine: UInt = #line
) {
    do {
        let config = try ConfigLoader.parse(yaml: yaml)
        XCTFail("expected an error at '\(key)', parsed \(config)", file: file, line: testLine)
    } catch let error as ConfigError {
        XCTAssertEqual(error.key, key, "\(error)", file: file, line: testLine)
        if let line {
            XCTAssertEqual(error.line, line, "\(error)", file: file, line: testLine)
        }
        XCTAssertTrue(error.message.contains(message), "'\(error.message)' lacks '\(message)'", file: file, line: testLine)
    } catch {
        XCTFail("expected ConfigError, got \(error)", file: file, line: testLine)
    }
}
