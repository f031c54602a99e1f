"""Benchmarks behind `tracker bench`: one module per subcommand, each prints figures."""
