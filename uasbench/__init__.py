"""uasbench: benchmark harness for one-prompt universal anomaly segmentation.

Reproduces MetaUAS (NeurIPS'24) and OneNIP (ECCV'24) and their baselines. See README.md.
"""

__version__ = "0.1.0"
