"""MetaUAS training data: synthesized change-segmentation pairs (sources, generator, training dataset)."""
