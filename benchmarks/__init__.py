"""ecoplan benchmarks (see BENCHMARKS.md)."""
