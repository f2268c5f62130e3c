"""Glue between config, data, methods and outputs: one module per workflow stage (train, predict, ...)."""
