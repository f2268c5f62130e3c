"""The generic training loop every trainable method shares (checkpoints, resume, progress)."""
