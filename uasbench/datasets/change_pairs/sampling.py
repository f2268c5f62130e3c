"""How each change pair picks its change type and its source image (MetaUAS appendix A, or the legacy sampler).

* ``paper``: the appendix's recipe, "synthesized using the randomly selected 60,000 images from the MS-COCO
  training set. For each image, a synthesized image is generated [...] we randomly employ object-level change and
  local-region change with a probability of 0.5". Pair ``i`` is built on its own source image ``order[i]``, drawn
  *without replacement* from the source's pool, so no image is the changed image of two pairs; a source of
  procedural scenes (pool size None) draws a fresh scene per pair. Object vs local: p=0.5 each.
* ``legacy``: every image (changed image and donor) drawn uniformly *with replacement* from the whole source.

Both draw the change type the same way (``draw_change``): object vs local with p=0.5, and within object paste with
``PASTE_PROBABILITY`` (CYWS's half/half; the paper gives no split), else inpainted removal. Donors (the pixels
pasted or filled in) are drawn with replacement in both modes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from uasbench.errors import ConfigError

if TYPE_CHECKING:  # numpy is imported where used, so the CLI can read SAMPLINGS at --help time without it
    import numpy as np

SAMPLINGS = ("paper", "legacy")
DEFAULT_SAMPLING = "paper"
PASTE_PROBABILITY = 0.5  # CYWS: half of the object pairs are copy-paste, half inpainting
CHANGE_METHODS = ("local", "paste", "removal")
IMAGE_ORDER_STREAM = 0x1A9E  # the generator of the paper sampling's image order: seeded by (seed, this)


def check_sampling(sampling: str) -> str:
    """``sampling`` itself, or a ConfigError listing the known ones."""
    if sampling not in SAMPLINGS:
        raise ConfigError(f"unknown change-pair sampling {sampling!r}; expected one of {', '.join(SAMPLINGS)}")
    return sampling


def draw_change(kinds: Sequence[str], rng: np.random.Generator) -> str:
    """The first draws of every pair: its kind (uniform over ``kinds``), then for object paste vs removal."""
    if kinds[int(rng.integers(len(kinds)))] == "local":
        return "local"
    return "paste" if rng.random() < PASTE_PROBABILITY else "removal"


def planned_changes(kinds: Sequence[str], seed: int, pair_ids: Sequence[int]) -> list[str]:
    """The change method of each pair, without rendering (the same draws the writer makes first)."""
    import numpy as np

    return [draw_change(kinds, np.random.default_rng([seed, pair_id])) for pair_id in pair_ids]


def image_order(seed: int, n_pairs: int, pool_size: int | None) -> np.ndarray | None:
    """Paper sampling: pair ``i``'s source image is ``order[i]``, distinct for every pair (None: procedural pool).

    More pairs than distinct images is a ConfigError naming both numbers, raised before any work.
    """
    if pool_size is None:
        return None
    import numpy as np

    if n_pairs > pool_size:
        raise ConfigError(f"change_pairs.n_pairs is {n_pairs} but the source has only {pool_size} distinct images "
                          f"with instances; sampling 'paper' uses each image at most once: lower n_pairs to "
                          f"{pool_size} or less, or use sampling 'legacy' (images drawn with replacement)")
    return np.random.default_rng([seed, IMAGE_ORDER_STREAM]).permutation(pool_size)[:n_pairs]
