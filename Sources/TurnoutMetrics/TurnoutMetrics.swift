// Counters and exposition; see ARCHITECTURE.md.
