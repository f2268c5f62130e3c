"""The generic training loop every trainable method shares (checkpoints, resume, progress)."""

#: training-entry keys that say how a run executes, not what it computes (the same data, the same model up to float
#: summation order): a resume accepts another value, and the workflow does not retrain when one changes
EXECUTION_FIELDS = ("workers", "gpus", "compile")
