"""The shipped source table agrees with the configs and tools it serves: it parses, the prompt files the paper
config names are all in it (by git blob SHA), its destinations are the folder names the paper config uses, and
the hand-written git-blob hash is git's own."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from uasbench.inputs.download import file_digest
from uasbench.inputs.preflight import config_inputs
from uasbench.inputs.sources import ARCHIVE_FORMATS, load_sources

ROOT = Path(__file__).resolve().parents[2]
SOURCES = load_sources(ROOT / "uasbench/inputs/sources.yaml")


def test_every_source_has_a_place_a_checksum_or_manual_instructions():
    for source in SOURCES.values():
        assert source.manual or source.files, source.name
        assert source.archive in (None, *ARCHIVE_FORMATS), source.name
        assert source.dest.startswith(("{data}/", "{torch_hub}", "{clip_cache}")), source.name
        for spec in source.files:
            assert spec.checksum_kind == "record" or len(spec.checksum) >= 8, (source.name, spec.origin)


def test_paper_config_prompt_files_and_roots_match_the_table():
    config = yaml.safe_load((ROOT / "config/paper.yaml").read_text())
    prompt_files = {spec.path for spec in SOURCES["metauas-prompts"].files}
    assert all(spec.checksum_kind == "git_blob" for spec in SOURCES["metauas-prompts"].files)
    needs = list(config_inputs(config, SOURCES))
    assert len(next(n for n in needs if n.kind == "prompts").prompt_files) == 3 * 5 + 3  # 5 seeds + best-match
    for need in needs:
        assert set(need.prompt_files) <= prompt_files, set(need.prompt_files) - prompt_files
        if need.source is not None and need.kind in ("dataset", "prompts", "coco") and need.path.suffix != ".json":
            # `uasbench fetch NAME --data-root /data` fills exactly the folder the paper config names
            assert str(need.path).endswith("/" + need.source.relative_dest()), need.key


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_git_blob_digest_is_gits_own(tmp_path):
    sample = tmp_path / "oneprompt_seed1.json"
    sample.write_bytes(b'{\n    "01": {"filename": "01/train/ok/0069.bmp"}\n}')
    expected = subprocess.run(["git", "hash-object", str(sample)], capture_output=True, text=True,
                              check=True).stdout.strip()
    assert file_digest(sample, "git_blob") == expected


def test_every_fetch_command_the_code_suggests_names_a_source():
    """A refused weight or a missing official checkpoint names `uasbench fetch NAME`: NAME must be in the table, as a
    source of weights (backbones, CLIP) or checkpoints (the converters' official files)."""
    from uasbench.backbones.clip import CLIP_FETCH
    from uasbench.backbones.registry import PRESETS
    from uasbench.methods.converters import OFFICIAL_CONVERTERS

    suggested = {spec.fetch: "weights" for spec in PRESETS.values() if spec.fetch}
    suggested.update({name: "weights" for name in CLIP_FETCH.values()})
    suggested.update({converter.fetch: "checkpoint" for converter in OFFICIAL_CONVERTERS.values()})
    assert len(suggested) >= 8
    for name, kind in suggested.items():
        assert name in SOURCES, f"`uasbench fetch {name}` is suggested but the source table has no {name!r}"
        assert SOURCES[name].kind == kind, (name, SOURCES[name].kind)


def test_the_official_checkpoint_route_fetches_each_checkpoint_where_its_config_reads_it():
    """config/paper-official.yaml's checkpoints are inputs of the preflight and of `uasbench fetch --config`, and
    the fetched file lands on the path the config names (data root /data, as its dataset roots)."""
    from uasbench.config import load_config
    from uasbench.inputs.preflight import fetch_command, fetched_path

    config = {**load_config(ROOT / "config" / "paper-official.yaml"), "data_root": "/data"}
    needs = {need.key: need for need in config_inputs(config, SOURCES)}
    assert config["checkpoints"]
    for name, entry in config["checkpoints"].items():
        need = needs[f"checkpoints.{name}.source"]
        assert need.source is not None and need.source.kind == "checkpoint", name
        assert fetched_path(need, config) == Path(entry["source"]), name
        assert fetch_command(need, config) == f"uasbench fetch {need.source.name} --data-root /data"
