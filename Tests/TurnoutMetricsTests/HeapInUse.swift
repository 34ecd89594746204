import Foundation
import Glibc

/// Bytes the C heap has handed out and not taken back, from glibc's own statistics.
///
/// Glibc's Swift module leaves out <malloc.h>, so this calls `malloc_stats()` (no arguments, no return
/// value: nothing to get wrong across the call) through `dlsym`, with standard error pointed at a
/// temporary file, and reads the "in use bytes" of its "Total (incl. mmap)" section.
func heapBytesInUse() throws -> Int {
    typealias MallocStats = @convention(c) () -> Void
    guard let process = dlopen(nil, RTLD_NOW), let symbol = dlsym(process, "malloc_stats") else {
        throw HeapStatisticsError.unavailable
    }
    let mallocStats = unsafeBitCast(symbol, to: MallocStats.self)

    var template = Array("\(NSTemporaryDirectory())/turnout-heap-XXXXXX".utf8CString)
    let file = mkstemp(&template)
    guard file >= 0 else { throw HeapStatisticsError.unavailable }
    let path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    defer {
        close(file)
        unlink(path)
    }
    let savedStandardError = dup(STDERR_FILENO)
    dup2(file, STDERR_FILENO)
    mallocStats()
    dup2(savedStandardError, STDERR_FILENO)
    close(savedStandardError)

    let report = try String(contentsOfFile: path, encoding: .utf8)
    guard let total = report.range(of: "Total (incl. mmap):"),
          let inUseLine = report[total.upperBound...].split(separator: "\n").first(where: { $0.hasPrefix("in use bytes") }),
          let value = inUseLine.split(separator: "=").last.flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) })
    else {
        throw HeapStatisticsError.unreadable(report)
    }
    return value
}

enum HeapStatisticsError: Error {
    case unavailable
    case unreadable(String)
}
