"""PatchCore: a coreset memory of mid-level patch features, nearest-neighbour anomaly maps."""
