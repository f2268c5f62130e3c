"""The embedded benchmark: an MVTec-layout anomaly dataset generated from real photos and rendered objects."""
