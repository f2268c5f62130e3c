"""One exception family so the CLI can turn library errors into one clear line and a non-zero exit, and the
helpers that keep a user's value short when a message echoes it."""

import reprlib


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


ECHO_LIMIT = 120  # characters of a user's value shown in an error message
_SHORT_REPR = reprlib.Repr()  # keyword arguments need Python 3.12
_SHORT_REPR.maxlevel, _SHORT_REPR.maxstring, _SHORT_REPR.maxother = 3, ECHO_LIMIT, ECHO_LIMIT


def clip(text: str, limit: int = ECHO_LIMIT) -> str:
    """``text`` cut in the middle to about ``limit`` characters, saying how long it was (its start and end stay)."""
    if len(text) <= limit:
        return text
    half = max(limit // 2 - 10, 8)
    return f"{text[:half]} ...[{len(text):,} characters]... {text[-half:]}"


def short_message(error: BaseException | str, line_limit: int = 2000) -> str:
    """An error's message with every line clipped to ``line_limit`` characters: the last guard, where the CLI and the
    workflow print errors, against a message that echoed a huge value."""
    return "\n".join(clip(line, line_limit) for line in str(error).splitlines())


def echo(value: object, limit: int = ECHO_LIMIT) -> str:
    """A user's value as an error message shows it: its ``repr``, bounded while it is built (a nested YAML alias
    never expands) and clipped to ``limit`` characters."""
    return clip(_SHORT_REPR.repr(value), limit)
