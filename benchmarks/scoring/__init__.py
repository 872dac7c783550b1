"""Figures from scores: metrics and intervals, thresholds (a run's and a
site's), drift of new images from the training images."""
