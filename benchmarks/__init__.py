"""Benchmarks: ``python -m benchmarks NAME [args]`` (``python -m benchmarks`` lists them)."""
