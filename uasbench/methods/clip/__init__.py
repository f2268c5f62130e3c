"""CLIP-based methods: zero-shot CLIP, WinCLIP and WinCLIP+ (prompt ensembles, multi-scale windows)."""
