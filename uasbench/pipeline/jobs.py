"""The prediction jobs of a config, (run, dataset, prompt seed): the one list the workflow and ``uasbench run`` share.

A run predicts on its ``datasets`` (default: every dataset of the config) with its ``seeds`` (default: the config's
``prompt_seeds``) when its prompt mode draws prompts with a seed; a run whose prompts no seed picks (zero-shot,
best-match) is one job per dataset, seed 0. Torch-free, so the Snakefile's parse can read it; ``config`` is
validated (the schema's defaults are set).
"""

from __future__ import annotations

from typing import Any, Mapping

Config = Mapping[str, Any]

#: prompt modes of ``runs.<name>.prompt`` (uasbench.pipeline.prompts selects the images of each)
PROMPT_MODES = ("random", "random-per-image", "best-match", "best-match-agnostic", "none")
#: the modes whose prompts a prompt seed draws: one job per seed
SEEDED_PROMPT_MODES = ("random", "random-per-image")
UNSEEDED = 0  # the seed of a run whose prompts no seed picks


def run_datasets(config: Config, run: str) -> list[str]:
    """The datasets ``run`` predicts on, in order (the first one sizes its latency measurement)."""
    return list(config["runs"][run].get("datasets", list(config["datasets"])))


def run_seeds(config: Config, run: str) -> list[int]:
    """The prompt seeds of ``run``: its ``seeds``, else the config's ``prompt_seeds``; [0] without seeded prompts."""
    entry = config["runs"][run]
    if entry["prompt"] not in SEEDED_PROMPT_MODES:
        return [UNSEEDED]
    return list(entry.get("seeds", config["prompt_seeds"]))


def prediction_jobs(config: Config) -> list[tuple[str, str, int]]:
    """Every (run, dataset, seed) to predict and evaluate, runs in config order."""
    return [(run, dataset, seed) for run in config["runs"] for dataset in run_datasets(config, run)
            for seed in run_seeds(config, run)]
