"""The one reader of users' YAML (configs, ``--options`` values, paper numbers): PyYAML's safe loader, made strict.

PyYAML keeps the last of two equal keys, so a second ``pd:`` run or ``image_size`` would silently replace the first;
here it is an error naming the file, the key and both lines. Aliases that expand to more than
``MAX_EXPANDED_NODES`` values (an "alias bomb": a few lines that print as hundreds of megabytes) are refused too.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from uasbench.errors import ConfigError, echo

MAX_EXPANDED_NODES = 1_000_000  # far above any config (a few thousand values), far below a bomb's billions
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key repeated in one mapping (``<<`` merges may still be overridden)."""

    source = "YAML"

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            key, line = self.construct_object(key_node, deep=True), key_node.start_mark.line + 1
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: SafeLoader reports it below
                continue
            if first is not None:
                raise ConfigError(f"{self.source}: duplicate key {echo(key)} at line {line} (first at line {first}): "
                                  "a second value would silently replace the first")
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """Values the node stands for once every alias is expanded (memoised per node, so a bomb is sized quickly)."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    sizes[id(node)] = 1  # a recursive alias counts once instead of looping
    if isinstance(node, yaml.SequenceNode):
        children = node.value
    elif isinstance(node, yaml.MappingNode):
        children = [part for pair in node.value for part in pair]
    else:
        children = []
    total = 1 + sum(_expanded_size(child, sizes) for child in children)
    sizes[id(node)] = total
    return total


def parse_yaml(text: str, source: str) -> Any:
    """The document in ``text``; ConfigError naming ``source`` for invalid YAML, a duplicate key or an alias bomb."""
    loader = _StrictLoader(text)
    loader.source = source
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        size = _expanded_size(node, {})
        if size > MAX_EXPANDED_NODES:
            raise ConfigError(f"{source}: its aliases expand to {size:,} values (more than {MAX_EXPANDED_NODES:,}); "
                              "write the values out or use fewer nested aliases")
        return loader.construct_document(node)
    except yaml.YAMLError as err:
        raise ConfigError(f"{source}: not valid YAML: {err}") from err
    finally:
        loader.dispose()


def load_yaml(path: str | os.PathLike) -> Any:
    """The YAML document in the file ``path``, read strictly as :func:`parse_yaml` does; a file that is not UTF-8
    text (another encoding, a binary file) is a ConfigError naming the file and the first offending byte, instead
    of a decoding traceback."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ConfigError(f"cannot read {path}: {err.strerror or err}") from err
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark (Windows editors) is fine
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not a UTF-8 text file (byte {data[err.start]:#04x} at offset {err.start}); "
                          "YAML is text: save it as UTF-8") from err
    if (nul := text.find("\0")) >= 0:
        raise ConfigError(f"{path}: holds a NUL byte (character {nul}): a binary file, not YAML")
    return parse_yaml(text, str(path))
