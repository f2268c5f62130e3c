"""The README is read top to bottom by a newcomer: the sections they look for come first, each under its own
heading; the results table is the published one; nothing in it (or the Makefile) points at the authors' machine."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
SCREENFUL = 12  # headings a reader sees at once in an outline
# What a newcomer looks for, in the order they look, as patterns for the heading's words.
REQUIRED = {"install": r"install", "quickstart": r"quickstart", "results": r"results", "own data": r"own data",
            "reproduce": r"reproduce", "cluster": r"cluster|slurm", "mlflow": r"mlflow",
            "extend": r"add your method|extend", "contributing": r"contributing", "cite": r"cite|citation"}


def _headings(text: str) -> list[str]:
    """Level-2 headings in order (outside code blocks)."""
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    return re.findall(r"^## (.+)$", text, re.M)


def test_required_sections_have_their_own_heading_within_the_first_screenful_in_order():
    first = [h.lower() for h in _headings(README)[:SCREENFUL]]
    positions = {}
    for name, pattern in REQUIRED.items():
        hits = [i for i, heading in enumerate(first) if re.search(pattern, heading)]
        assert hits, f"no '{name}' heading among the README's first {SCREENFUL}: {first}"
        positions[name] = hits[0]
    assert list(positions) == sorted(positions, key=positions.get), positions


def test_papers_are_linked():
    for link in ("https://arxiv.org/abs/2505.09265", "https://arxiv.org/abs/2505.09264",
                 "https://github.com/gaobb/MetaUAS", "https://github.com/gaobb/OneNIP"):
        assert link in README, link
    assert "@inproceedings{gao2024metauas" in README and "@inproceedings{gao2024onenip" in README


@pytest.mark.parametrize("path", ["README.md", "Makefile"])
def test_no_reference_only_the_authors_can_follow(path):
    text = (ROOT / path).read_text()
    for pattern in (r"\$OUT\b", r"this machine", r"\.\./shared", r"/work/", r"\bissue \d+"):
        assert not re.search(pattern, text, re.I), f"{path} says {pattern!r}"


def test_every_local_link_and_image_exists():
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", README):
        if not re.match(r"https?://", target):
            assert (ROOT / target).exists(), f"README links to {target}, which is not in the tree"


def test_results_table_is_the_published_main_table():
    published = (ROOT / "docs/results/embedded/tables/main_synthetic.md").read_text()
    section = README.split("\n## Results\n", 1)[1].split("\n## ", 1)[0]
    assert _table_rows(section) == _table_rows(published)


def _table_rows(text: str) -> list[str]:
    """Rows of the wide results table (the glossary's rows have three cells)."""
    return [line for line in text.splitlines() if line.startswith("| ") and line.count("|") > 10]
