"""The built-in methods as a config sees them: where each one's code lives and the constructor options it takes,
declared here (timm style) so that loading and checking a config never imports torch, timm or open_clip.

One :class:`~uasbench.methods.options.MethodSpec` per method name, built from one block of options per method family.
Each table equals its constructor's signature (names, kinds, defaults; ``tests/unit/test_method_options.py`` checks
every method), and its choices equal the constants the model code checks against.
"""

from __future__ import annotations

from uasbench.methods.options import MethodSpec, Option, flag, number, path, text, whole, wholes

#: MetaUAS Table 2 / WinCLIP: ViT-B-16-plus-240 with the LAION-400M epoch-31 weights, 240 px input
DEFAULT_CLIP, DEFAULT_CLIP_TAG = "ViT-B-16-plus-240", "laion400m_e31"
DEFAULT_BACKBONE = "efficientnet_b4"
#: the largest seed torch's and numpy's generators take
MAX_SEED = 2**64 - 1

METAUAS: dict[str, Option] = {
    "backbone": text(DEFAULT_BACKBONE),
    "alignment": text("soft", choices=("soft", "hard", "none")),
    "fusion": text("cat", choices=("cat", "add", "absdiff")),
    "decoder": text("unet", choices=("unet", "fpn-cat", "fpn-add")),
    "num_alignment_layers": whole(3, low=1),
    "backbone_weights": path(),
    "pretrained_backbone": flag(True),
    "checkpoint": path(),
    "fpn_segmentation_channels": whole(256, low=1),
    "decoder_channels": wholes(None, nullable=True),
    "freeze_encoder": flag(True),
}

PATCHCORE: dict[str, Option] = {
    "backbone": text(DEFAULT_BACKBONE),
    "weights": path(),
    "pretrained": flag(True),
    "coreset_fraction": number(0.1, low=0, high=1, low_open=True),
    "num_neighbours": whole(1, low=1),
    "embed_dim": whole(1024, low=1),
    "patch_size": whole(3, low=1),
    "smoothing_sigma": number(4.0, low=0),
    "seed": whole(0, low=0, high=MAX_SEED),
    "progress": flag(False),
}

CLIP: dict[str, Option] = {
    "model_name": text(DEFAULT_CLIP),
    "pretrained_tag": text(DEFAULT_CLIP_TAG, nullable=True),
    "weights": path(),
    "pretrained": flag(True),
    "temperature": number(0.07, low=0, low_open=True),
}
WINCLIP: dict[str, Option] = {**CLIP, "scales": wholes((2, 3)), "max_window_sequences": whole(2048, low=1)}

PROMPT_DIFF: dict[str, Option] = {
    "space": text("pixel", choices=("pixel", "feature")),
    "backbone": text("tf_efficientnet_lite0"),
    "taps": text("metauas"),
    "weights": path(),
    "pretrained": flag(True),
    "smoothing_sigma": number(4.0, low=0),
}

#: UniAD's architecture switches (the fields of ReconstructionConfig a config may set), shared with OneNIP
RECONSTRUCTION_ARCH: dict[str, Option] = {
    "encoder_layers": whole(4, low=1),
    "decoder_layers": whole(4, low=1),
    "hidden_dim": whole(256, low=2),
    "heads": whole(8, low=1),
    "ffn_dim": whole(1024, low=1),
    "dropout": number(0.1, low=0, high=1, high_open=True),
    "neighbour_masking": flag(True),
    "jitter_scale": number(20.0, low=0),
    "jitter_prob": number(1.0, low=0, high=1),
}
#: options only the training hooks read (the constructor accepts and ignores them)
RECONSTRUCTION_TRAINING: dict[str, Option] = {
    "train_prompt": text("random", choices=("random", "fixed")),
    "cache_features": flag(False),
}
UNIAD: dict[str, Option] = {
    "backbone": text(DEFAULT_BACKBONE),
    "backbone_weights": path(),
    "pretrained_backbone": flag(True),
    "image_size": whole(224, low=32),
    "checkpoint": path(),
    **RECONSTRUCTION_ARCH,
    **RECONSTRUCTION_TRAINING,
}
ONENIP: dict[str, Option] = {
    **UNIAD,
    "prompt": text("dynamic", choices=("dynamic", "static", "none")),
    "restoration": flag(True),
    "refiner": flag(True),
    "normalizer": text("test-set", choices=("test-set", "train-set")),
    "dice_weight": number(0.5, low=0),
}
RECONSTRUCTION_ENTRY_OPTIONS = ("backbone", "backbone_weights", "image_size")

BUILT_IN: dict[str, MethodSpec] = {
    "metauas": MethodSpec("uasbench.methods.metauas", METAUAS, trainable=True, image_score_rule="max"),
    "patchcore": MethodSpec("uasbench.methods.patchcore.method", PATCHCORE),
    "clip": MethodSpec("uasbench.methods.clip.zeroshot", CLIP),
    "winclip": MethodSpec("uasbench.methods.clip.winclip", WINCLIP),
    "winclip+": MethodSpec("uasbench.methods.clip.winclip", WINCLIP),
    "prompt-diff": MethodSpec("uasbench.methods.sanity", PROMPT_DIFF, image_score_rule="max"),
    "random": MethodSpec("uasbench.methods.sanity", {"seed": whole(0, low=0, high=MAX_SEED)}),
    "onenip": MethodSpec("uasbench.methods.reconstruction.onenip", ONENIP, trainable=True,
                         entry_options=RECONSTRUCTION_ENTRY_OPTIONS, image_score_rule="avgpool16"),
    "uniad": MethodSpec("uasbench.methods.reconstruction.uniad", UNIAD, trainable=True,
                        entry_options=RECONSTRUCTION_ENTRY_OPTIONS, image_score_rule="avgpool16"),
}
