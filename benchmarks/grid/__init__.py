"""The grid: the run's config, the family, strategy and preprocessing
registries, the plan, trials, executors, the run folder's store and the runner."""
