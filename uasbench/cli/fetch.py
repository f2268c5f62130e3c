"""``uasbench fetch``: download the paper tier's inputs from the source table, checked by hash."""

from __future__ import annotations

import argparse

from uasbench.cli.common import RawDefaultsFormatter, add_command

DESCRIPTION = """\
Download datasets, the official MetaUAS prompt files, official checkpoints and pretrained weights from the source
table (uasbench/inputs/sources.yaml): a progress bar per file; an interrupted download resumes (HTTP Range); the
checksum is verified before anything is extracted (a mismatch removes the file, exit 2); archives extract into a
temporary sibling folder (no member outside it, no link out) that is renamed into place; free disk space is
checked first. A completed source leaves a stamp (<data root>/.fetched/<name>.json): fetching it again is a quick
no-op. Data root: --data-root, else the config's data_root, else $UASBENCH_DATA, else ~/.cache/uasbench/data.
Weights go to the folders the weight resolution reads (torch.hub's checkpoints folder, open_clip's cache).
Hugging Face files honour $HF_ENDPOINT. MVTec AD and VisA are licensed for non-commercial use: fetching them
means you accept their licences.

Exit status: 0 when every named source is in place, 2 on a bad name, a failed download, a checksum mismatch or
(--verify) a problem found."""


def register(subparsers) -> None:
    """Add ``fetch``."""
    parser = add_command(subparsers, "fetch", "download datasets, prompt files and weights, checked by hash", run,
                         description=DESCRIPTION)
    parser.formatter_class = RawDefaultsFormatter
    parser.add_argument("names", nargs="*", metavar="NAME", help="sources to fetch (see --list)")
    parser.add_argument("--config", default=None, help="fetch every input this workflow config needs")
    parser.add_argument("--all", action="store_true", help="every source of the table (GoodsAD: verify only)")
    parser.add_argument("--list", action="store_true", help="print the table (names, sizes, licences) and exit")
    parser.add_argument("--data-root", default=None, help="where data goes (default: see above)")
    parser.add_argument("--mirror", default=None, metavar="URL",
                        help="base URL of a mirror laid out as <URL>/<host>/<path> (what wget -x writes); "
                             "Hugging Face files use $HF_ENDPOINT instead")
    parser.add_argument("--dry-run", action="store_true", help="list what would be downloaded, sizes and places")
    parser.add_argument("--verify", action="store_true",
                        help="re-check what is on disk (hashes of files, layout and counts of datasets)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars (logs, batch jobs)")


def _selected(args: argparse.Namespace, sources: dict) -> tuple[list, dict | None]:
    from uasbench.errors import ConfigError

    config = None
    if args.config:
        from uasbench.config import load_config
        from uasbench.inputs.preflight import config_inputs

        config = load_config(args.config)
    unknown = [n for n in args.names if n not in sources]
    if unknown:
        raise ConfigError(f"unknown source(s) {', '.join(unknown)}; known: {', '.join(sources)}")
    chosen = list(args.names)
    if config is not None:
        chosen += [need.source.name for need in config_inputs(config, sources) if need.source is not None]
    if args.all:
        chosen += list(sources)
    if not chosen:
        raise ConfigError("name the sources to fetch, or give --config C or --all (--list prints the table)")
    return [sources[n] for n in dict.fromkeys(chosen)], config


def _print_place_hints(config: dict, root) -> None:
    """Where the config names another place than the one a fetch fills: the command that fills the config's."""
    from uasbench.inputs.preflight import config_inputs, fetch_command, fetched_path

    config = {**config, "data_root": str(root)}
    for need in config_inputs(config):
        target = fetched_path(need, config)
        if target is not None and need.path != target:
            print(f"note: {need.key} = {need.path}, not {target}: `{fetch_command(need, config)}` fills it there")


def run(args: argparse.Namespace) -> int:
    """Fetch, list or verify the chosen sources."""
    from uasbench.inputs.fetch import fetch_source, is_fetched, verify_source
    from uasbench.inputs.sources import data_root, destination, format_size, load_sources

    sources = load_sources()
    if args.list:
        for source in sources.values():
            size = "manual download" if source.manual else source.size_label
            print(f"{source.name:<24} {size:>14}  {source.title}\n{'':<40}licence: {source.licence}")
        return 0
    chosen, config = _selected(args, sources)
    root = data_root(config, args.data_root)
    if args.dry_run:
        total, estimated = 0, False
        for source in chosen:
            state = "fetched" if is_fetched(root, source) else ("manual" if source.manual else "to download")
            total += 0 if state != "to download" else (source.size or 0)
            estimated = estimated or (state == "to download" and source.approximate)
            size = "manual" if source.manual else source.size_label
            print(f"{source.name:<24} {size:>14}  {state:<12} -> {destination(source, root)}")
        print(f"data root {root}; to download: {'~' if estimated else ''}{format_size(total)} (sizes with ~ are "
              "estimates from the architecture's float32 state dict; sources of unknown size not counted)")
        if config is not None:
            _print_place_hints(config, root)
        return 0
    if args.verify:
        problems = []
        for source in chosen:
            problem = verify_source(root, source)
            print(f"{source.name}: {'ok' if problem is None else 'FAILED'}")
            problems += [] if problem is None else [f"  {source.name}: {problem}"]
        if problems:
            from uasbench.errors import DataError

            raise DataError("verification failed:\n" + "\n".join(problems))
        return 0
    for source in chosen:
        fetch_source(root, source, mirror=args.mirror, progress=not args.no_progress)
    return 0
