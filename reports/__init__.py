"""HTML comparison reports built from a run's results store."""
