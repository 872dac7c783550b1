"""Images and labels in: data sources, labels, decoding and caches, the audit
and shortcut probes, lesion masks, external sets and the folds."""
