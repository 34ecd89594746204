// libFuzzer's driver, linked by -sanitize=fuzzer. A fuzz target's own `main` calls it: SwiftPM gives every
// executable a `main` of its own, so the one in libFuzzer is never linked.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*testOneInput)(const uint8_t *data, size_t size));
