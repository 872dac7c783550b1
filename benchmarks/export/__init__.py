"""Run folders exported to other tools (MLflow)."""
