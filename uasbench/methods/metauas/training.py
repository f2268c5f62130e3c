"""Training hooks of MetaUAS (the ``MetaUAS`` class declares them for ``uasbench train``): one-prompt
meta-learning on synthesized change pairs.

Each meta-task is one (prompt, query) pair with its change mask; the loss is binary cross-entropy on the logits
(paper Eq. 7). The optimiser (AdamW, lr / weight decay from the config) and the loop live in ``uasbench.training.loop``.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

# Paper appendix: AdamW, constant lr 1e-4, wd 5e-4, 30 epochs, batch 128; no gradient clipping is mentioned.
TRAIN_DEFAULTS = {"epochs": 30, "batch_size": 128, "lr": 1e-4, "weight_decay": 5e-4, "channels_last": True}


def training_dataset(config: dict, entry: dict):
    """The change pairs a MetaUAS training entry trains on, with its data options (augmentation, fraction,
    change kinds, seed, image size)."""
    from uasbench import layout
    from uasbench.datasets.change_pairs.dataset import AugmentConfig, ChangePairDataset

    opts = entry.get("data_options", {})
    augment = opts.get("augment", "cyws")
    return ChangePairDataset(
        layout.change_pairs_dir(config), split="train", augment=augment != "none",
        fraction=float(opts.get("fraction", 1.0)), kinds=tuple(opts.get("kinds", ("object", "local"))),
        seed=int(entry.get("seed", 0)), image_size=entry.get("image_size"),
        augment_config=AugmentConfig.mild() if augment == "mild" else AugmentConfig())


def training_loss(model: torch.nn.Module, batch) -> torch.Tensor:
    """Binary cross-entropy of the change logits against the mask (paper Eq. 7), in channels-last layout."""
    prompt, query, mask = (t.contiguous(memory_format=torch.channels_last) for t in batch)
    logits = model(query, prompt)  # train mode: logits
    return F.binary_cross_entropy_with_logits(logits, mask)
