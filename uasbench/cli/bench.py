"""``uasbench bench ...``: speed measurements (metrics throughput, model latency)."""

from uasbench.cli._common import add_group_from_parts


def register(subparsers) -> None:
    add_group_from_parts(subparsers, "bench", "measure speed: metric evaluation, model forward latency",
                         ["metrics", "latency"])
