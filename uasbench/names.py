"""The one rule for names that become file or folder names and MLflow keys (config keys, categories).

Letters, digits, ``_ . + -``, not starting with ``. _ + -``. Checked with ``re.fullmatch``: a ``^...$`` search also
accepts a trailing newline, and ``"pd\\n"`` would become a folder and a run name.
"""

from __future__ import annotations

import re

SAFE_NAME = r"[A-Za-z0-9][A-Za-z0-9_.+-]*"
_SAFE = re.compile(SAFE_NAME)


def is_safe_name(name: object) -> bool:
    """Whether ``name`` is a string that follows the rule, whole (no trailing newline)."""
    return isinstance(name, str) and _SAFE.fullmatch(name) is not None
