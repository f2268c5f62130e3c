"""Training-time anomaly synthesis (CutPaste, DRAEM-Perlin with textures) for OneNIP's refiner and previews."""
