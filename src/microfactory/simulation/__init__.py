"""The demo scenario and the generators of realistic orders it (and the benchmarks) use."""
