"""Which pretrained weights a config needs, where each resolves, and the refusal to compute on random ones.

Every run and training entry asks its method class (``Method.weight_requests``) which networks its options would
load; each is resolved like the model would resolve it (file system only, nothing downloads). A need that resolves
to random stops the command before it computes, unless the config or the entry sets ``allow_random_weights: true``
(the embedded CLIP-tiny and the ci tier, random by design). ``pretrained: false`` in a method's options is an
explicit request for random weights and is not refused.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Iterator

from uasbench.backbones.weights import WeightChoice, random_weights_message, refuse_random_weights
from uasbench.errors import ConfigError
from uasbench.methods.base import WeightRequest

ALLOW_KEY = "allow_random_weights"


@dataclass(frozen=True)
class WeightNeed:
    """One pretrained network a config entry (``user``, e.g. ``runs.patchcore``) loads, and where it resolves."""

    user: str
    what: str
    choice: WeightChoice
    fetch: str | None
    allowed: bool
    pretrained: bool  # False: the options ask for random weights themselves

    @property
    def refused(self) -> bool:
        return self.pretrained and self.choice.is_random and not self.allowed


def resolve_request(request: WeightRequest) -> tuple[str, WeightChoice, str | None]:
    """(name for messages, where the weights resolve, `uasbench fetch` name) of one request."""
    if request.kind == "clip":
        from uasbench.backbones.clip import CLIP_FETCH, resolve_clip_weights

        choice = resolve_clip_weights(request.name, request.tag, request.weights, request.pretrained)
        return f"CLIP {request.name!r}", choice, CLIP_FETCH.get(request.name)
    from uasbench.backbones.registry import get_spec, resolve_backbone_weights

    choice = resolve_backbone_weights(request.name, request.weights, request.pretrained)
    return f"backbone {request.name!r}", choice, get_spec(request.name).fetch


def _allowed(config: dict[str, Any], entry: dict[str, Any]) -> bool:
    return bool(config.get(ALLOW_KEY) or entry.get(ALLOW_KEY))


def needs_of(config: dict[str, Any], user: str, entry: dict[str, Any], requests: list[WeightRequest], *,
             refusable_only: bool = False) -> list[WeightNeed]:
    """The resolved ``requests`` of the config entry ``entry`` (named ``user`` in messages); ``refusable_only``
    skips those that can never be refused (allowed, or random on request), which keeps a check from importing
    e.g. open_clip for the embedded tier's allowed CLIP-tiny."""
    allowed = _allowed(config, entry)
    needs = []
    for request in requests:
        if refusable_only and (allowed or not request.pretrained):
            continue
        what, choice, fetch = resolve_request(request)
        needs.append(WeightNeed(user, what, choice, fetch, allowed, request.pretrained))
    return needs


def run_requests(run: dict[str, Any]) -> list[WeightRequest]:
    """What a run loads at prediction: its method's network (a run with ``model`` loads every weight from that
    model file instead) and the CLIP model of its ``clip_prior``."""
    from uasbench.methods.registry import method_class

    requests = [] if "model" in run else method_class(run["method"]).weight_requests(run.get("options", {}))
    prior = run.get("clip_prior")
    if prior:
        requests += method_class("winclip+").weight_requests({"model_name": prior["clip_model"],
                                                              "weights": prior.get("clip_weights")})
    return requests


def training_requests(entry: dict[str, Any]) -> list[WeightRequest]:
    """What training a model loads: the pretrained encoder of the model its entry describes."""
    from uasbench.methods.registry import method_class

    cls = method_class(entry["method"])
    return cls.weight_requests(cls.entry_kwargs(entry))


def run_needs(config: dict[str, Any], name: str, refusable_only: bool = False) -> list[WeightNeed]:
    """The weights ``runs.<name>`` loads when it predicts."""
    run = config["runs"][name]
    return needs_of(config, f"runs.{name}", run, run_requests(run), refusable_only=refusable_only)


def training_needs(config: dict[str, Any], name: str, refusable_only: bool = False) -> list[WeightNeed]:
    """The weights training ``training.<name>`` loads."""
    entry = config["training"][name]
    return needs_of(config, f"training.{name}", entry, training_requests(entry), refusable_only=refusable_only)


def config_needs(config: dict[str, Any], refusable_only: bool = False) -> list[WeightNeed]:
    """Every weight the config's training entries and runs load, in config order (``refusable_only``: see
    :func:`needs_of`)."""
    needs = [need for name in config.get("training", {}) for need in training_needs(config, name, refusable_only)]
    return needs + [need for name in config["runs"] for need in run_needs(config, name, refusable_only)]


def check_needs(needs: list[WeightNeed]) -> None:
    """A ConfigError naming every refused weight (where it was looked for and how to get it); else nothing."""
    users: dict[tuple[str, tuple[str, ...], str | None], list[str]] = {}  # one line per weight, however many use it
    for need in needs:
        if need.refused:
            users.setdefault((need.what, need.choice.searched, need.fetch), []).append(need.user)
    if users:
        raise ConfigError("random weights refused (this config claims pretrained weights):\n  " + "\n  ".join(
            f"{random_weights_message(*weight)} [needed by {_listed(names)}]" for weight, names in users.items()))


def _listed(names: list[str], shown: int = 4) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


@contextlib.contextmanager
def pretrained_only(config: dict[str, Any], entry: dict[str, Any], needs: list[WeightNeed]) -> Iterator[None]:
    """Check ``needs`` before anything is built, then build under the guard that refuses any other network resolving
    to random (one the method classes do not declare, e.g. a plug-in's), unless the entry allows random weights."""
    check_needs(needs)
    with refuse_random_weights(when=not _allowed(config, entry)):
        yield
