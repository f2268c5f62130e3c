"""Feature-reconstruction anomaly detection shared by UniAD and OneNIP: neck, transformer, decoders, refiner."""

from uasbench.methods.reconstruction.model import (
    DECODERS,
    Reconstruction,
    ReconstructionConfig,
    ReconstructionNet,
    fuse_maps,
    image_scores,
)

__all__ = ["DECODERS", "Reconstruction", "ReconstructionConfig", "ReconstructionNet", "fuse_maps", "image_scores"]
