"""The benchmark harness behind `benchmarks/run`: Turnout, HAProxy and nginx in front of one nginx backend."""
