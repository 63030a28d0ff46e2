"""Speed and memory targets, run by `make bench`; each `bench_*.py` module returns result rows."""
