import CTurnoutLinux

/// The C heap, as glibc's malloc runs it.
public enum Heap {
    /// Gives the pages of freed memory back to the kernel (`malloc_trim(0)`, every arena). Freed chunks in the
    /// middle of a heap otherwise stay resident: after a burst of connections the process would keep its peak.
    /// Walks every arena under its lock: call it after freeing a lot, not per request.
    public static func releaseFreePages() {
        _ = turnout_malloc_trim()
    }
}
