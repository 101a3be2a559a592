"""Peer solvers (optional extras): independent oracles for tests and baselines for benchmarks."""
