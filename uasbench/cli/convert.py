"""``uasbench convert ...``: turn official checkpoints into uasbench state dicts."""

from uasbench.cli._common import add_group_from_parts


def register(subparsers) -> None:
    add_group_from_parts(subparsers, "convert", "convert official checkpoints to uasbench state dicts",
                         ["metauas", "onenip", "uniad"])
