import Glibc

/// Bytes glibc's main arena has handed out and not taken back: the heap of the main thread (other
/// threads of the test process allocate from arenas of their own, at times of their own).
///
/// Glibc's Swift module leaves out <malloc.h>, so this calls `malloc_stats()` (no arguments, no return
/// value: nothing to get wrong across the call) through `dlsym`, with standard error pointed at an
/// unlinked temporary file, and reads the "in use bytes" of its "Arena 0" section. Plain POSIX calls
/// only, so reading the statistics leaves nothing cached on the heap.
func mainArenaBytesInUse() throws -> Int {
    typealias MallocStats = @convention(c) () -> Void
    guard let process = dlopen(nil, RTLD_NOW), let symbol = dlsym(process, "malloc_stats") else {
        throw HeapStatisticsError.unavailable
    }
    let mallocStats = unsafeBitCast(symbol, to: MallocStats.self)

    var template = Array("/tmp/turnout-heap-XXXXXX".utf8CString)
    let file = mkstemp(&template)
    guard file >= 0 else { throw HeapStatisticsError.unavailable }
    defer { close(file) }
    unlink(template)
    let savedStandardError = dup(STDERR_FILENO)
    dup2(file, STDERR_FILENO)
    mallocStats()
    dup2(savedStandardError, STDERR_FILENO)
    close(savedStandardError)

    var bytes = [UInt8](repeating: 0, count: 1 << 16)
    let length = bytes.withUnsafeMutableBytes { pread(file, $0.baseAddress, $0.count, 0) }
    guard length > 0 else { throw HeapStatisticsError.unreadable("") }
    let report = String(decoding: bytes[..<length], as: UTF8.self)
    guard report.hasPrefix("Arena 0:\n"),
          let inUseLine = report.split(separator: "\n").first(where: { $0.hasPrefix("in use bytes") }),
          let value = inUseLine.split(separator: " ").last.flatMap({ Int($0) })
    else {
        throw HeapStatisticsError.unreadable(report)
    }
    return value
}

/// Whether the process's `malloc` is known not to be glibc's: under AddressSanitizer or ThreadSanitizer (or an
/// allocator preloaded with `LD_PRELOAD`), glibc's arena statistics never see the process's allocations.
func mallocIsReplaced() -> Bool {
    guard let libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD), let process = dlopen(nil, RTLD_NOW),
        let glibcMalloc = dlsym(libc, "malloc"), let processMalloc = dlsym(process, "malloc")
    else { return false }
    return glibcMalloc != processMalloc
}

enum HeapStatisticsError: Error {
    case unavailable
    case unreadable(String)
}
