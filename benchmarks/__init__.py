"""The benchmark scripts (each runs on its own: python benchmarks/latency.py ...), and one
command that runs them all and prints their figures beside the targets: python -m benchmarks
(see run_all.py)."""
