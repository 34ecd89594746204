import COpenSSL
import CTurnoutLinux

/// Where OpenSSL's memory comes from.
public enum OpenSSLMemory {
    /// Routes OpenSSL's allocations through per-thread caches of small blocks (`turnout_block_cache_malloc`):
    /// OpenSSL 3.0 allocates and frees a 40-byte block for every record it writes, and so an HTTPS response
    /// would cost the heap a few allocations. Must run before OpenSSL allocates anything; false when that is
    /// too late (OpenSSL then keeps the heap, which works the same, only slower).
    public static func useThreadBlockCaches() -> Bool {
        CRYPTO_set_mem_functions(turnout_block_cache_malloc, turnout_block_cache_realloc, turnout_block_cache_free) == 1
    }
}
