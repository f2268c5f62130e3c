"""Every command's ``--help``: --device only where a device computes, every option explained, each default once."""

import re

import pytest

from uasbench.cli import build_parser, main

DEVICE_COMMANDS = {"run", "predict", "train", "bench latency", "bench precision", "bench train"}


def _leaf_commands() -> list[list[str]]:
    def walk(parser, prefix):
        subs = [a for a in parser._actions if isinstance(getattr(a, "choices", None), dict)]
        if not subs:
            return [prefix]
        return [leaf for a in subs for name, sub in a.choices.items() for leaf in walk(sub, prefix + [name])]
    return walk(build_parser(), [])


def _options(help_text: str) -> dict[str, str]:
    """Option -> its help text (continuation lines joined), from the 'options:' section of a --help page."""
    section = help_text.split("options:", 1)[1]
    entries = re.split(r"\n  (?=-)", "\n" + section)
    return {entry.split()[0].rstrip(","): " ".join(entry.split()) for entry in entries if entry.strip()}


@pytest.mark.parametrize("command", _leaf_commands(), ids=" ".join)
def test_help_page(command, capsys):
    with pytest.raises(SystemExit) as done:
        main([*command, "--help"])
    assert done.value.code == 0
    options = _options(capsys.readouterr().out)
    assert ("--device" in options) == (" ".join(command) in DEVICE_COMMANDS)
    for option, text in options.items():
        if option == "-h":
            continue
        assert "(default: None)" not in text and text.count("default") <= 1, text
        words = re.sub(r"\(default: [^)]*\)", "", text.replace(option, "")).replace(option.lstrip("-").upper(), "")
        assert re.search(r"[a-z]{3}", words.replace(option.lstrip("-").upper().replace("-", "_"), "")), \
            f"{' '.join(command)} {option} has no help: {text!r}"


def test_the_device_commands_exist():
    assert DEVICE_COMMANDS <= {" ".join(c) for c in _leaf_commands()}


def test_real_defaults_are_still_shown(capsys):
    with pytest.raises(SystemExit):
        main(["predict", "--help"])
    options = _options(capsys.readouterr().out)
    assert options["--seed"].endswith("(default: 0)") and options["--batch-size"].endswith("(default: 16)")
    assert "default" not in options["--force"] and "default" not in options["--threads"]
