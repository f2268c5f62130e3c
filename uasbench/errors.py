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
