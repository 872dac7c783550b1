"""From the best configuration to a worklist: final fit, threshold, model
folder, model card and triage."""
