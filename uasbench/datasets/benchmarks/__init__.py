"""Benchmark loaders: MVTec AD, VisA, BTAD, GoodsAD and any MVTec-layout folder, their validation and counts."""
