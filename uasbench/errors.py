"""One exception family so the CLI can turn library errors into one clear line and a non-zero exit."""


class UasbenchError(Exception):
    """Base class: a user-facing error whose message names the file/key and what is wrong."""


class DataError(UasbenchError):
    """A dataset folder, image, mask or manifest is missing or malformed."""


class ConfigError(UasbenchError):
    """A config file violates the schema or names something that does not exist."""


class CheckpointError(UasbenchError):
    """A checkpoint cannot be loaded: wrong model, missing/extra keys, unsafe pickle."""


class MetricInputError(UasbenchError):
    """Anomaly maps / masks / scores passed to the metrics are inconsistent or invalid."""


class OutputError(UasbenchError):
    """An output file or folder cannot be written: a file where a folder belongs, no permission, a full disk."""


class TrainingDiverged(UasbenchError, FloatingPointError):
    """The training loss became NaN or infinite; the message names the batch and what to try.

    Also a FloatingPointError, what the loop raised before it had a name of its own."""


class TrackingError(UasbenchError):
    """The MLflow store cannot be opened or written (corrupt or misplaced database, read-only, unreachable server)."""
