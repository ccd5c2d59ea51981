"""Routing declared as data (``dialog/routing.json``): intent groups, cue lists
and the ordered routes from an understood message to an answering policy.

A route names the intents (or ``@group``) it takes, the FSM states it applies
in, the named guards that must hold (``not:`` negates one), the policy that
answers, and the FSM triggers that policy may fire. ``load_routing`` checks all
of it before the engine serves: an unknown intent, group, state, guard, policy
or trigger is a ``RoutingError`` naming the file, the route and the field.

>>> table = load_routing(guards={"angry"}, policies={"handoff_anger", "knowledge"})
>>> table.routes[0].name
'anger'
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dialog.errors import DialogError
from dialog.fsm import TRANSITIONS, Transition
from schema.conversation import DialogState
from schema.intents import intent_names

DEFAULT_ROUTING_PATH = Path(__file__).resolve().parent / "routing.json"


class RoutingError(DialogError):
    """The routing data names something the taxonomy, the FSM or the engine does not know."""


class RouteSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    policy: str = Field(min_length=1)
    fires: tuple[str, ...] = Field(min_length=1)
    intents: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    guards: tuple[str, ...] = ()
    params: dict[str, str] = Field(default_factory=dict)
    why: str = ""


class RoutingSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    groups: dict[str, tuple[str, ...]]
    cues: dict[str, tuple[str, ...]]
    routes: tuple[RouteSpec, ...] = Field(min_length=1)


@dataclass(frozen=True)
class Route:
    """One validated route: ``intents`` is expanded (groups resolved); empty means any intent."""

    name: str
    policy: str
    fires: frozenset[str]
    intents: frozenset[str]
    states: frozenset[DialogState]
    guards: tuple[tuple[str, bool], ...]  # (guard name, expected truth)
    params: dict[str, str] = field(default_factory=dict)

    def guard_label(self) -> str:
        parts = [f"in {'|'.join(sorted(s.value for s in self.states))}"] if self.states else []
        if self.intents:
            parts.append("|".join(sorted(self.intents)))
        parts += [g if want else f"not {g}" for g, want in self.guards]
        return " & ".join(parts) or "always"


@dataclass(frozen=True)
class Cues:
    """Compiled cue lists: general-language patterns, one regex per list."""

    patterns: dict[str, re.Pattern[str]]

    def has(self, name: str, text: str) -> bool:
        return bool(self.patterns[name].search(text))


@dataclass(frozen=True)
class RoutingTable:
    routes: tuple[Route, ...]
    groups: dict[str, frozenset[str]]
    cues: Cues
    source: str

    def group(self, name: str) -> frozenset[str]:
        return self.groups[name]


def _fail(source: str, where: str, message: str) -> RoutingError:
    return RoutingError(f"{source}: {where}: {message}")


def _compile_cues(source: str, raw: dict[str, tuple[str, ...]]) -> Cues:
    patterns = {}
    for name, items in raw.items():
        if not items:
            raise _fail(source, f"cues.{name}", "an empty cue list")
        for i, item in enumerate(items):
            try:
                re.compile(item)
            except re.error as e:
                raise _fail(source, f"cues.{name}[{i}]", f"not a valid pattern {item!r}: {e}") from e
        patterns[name] = re.compile("|".join(f"(?:{item})" for item in items))
    return Cues(patterns)


def validate_routing(spec: RoutingSpec, *, source: str, intents: frozenset[str], guards: set[str],
                     policies: set[str], transitions: tuple[Transition, ...] = TRANSITIONS,
                     required_cues: set[str] = frozenset()) -> RoutingTable:
    """Check ``spec`` against the taxonomy, the FSM and the engine's guards and policies."""
    triggers = {t.trigger for t in transitions}
    states = {s.value: s for s in DialogState}
    groups: dict[str, frozenset[str]] = {}
    for name, members in spec.groups.items():
        unknown = sorted(set(members) - intents)
        if unknown:
            raise _fail(source, f"groups.{name}", f"unknown intent(s) {unknown}")
        groups[name] = frozenset(members)
    missing_cues = sorted(required_cues - set(spec.cues))
    if missing_cues:
        raise _fail(source, "cues", f"missing cue list(s) {missing_cues} that the engine uses")
    routes = []
    seen: set[str] = set()
    for i, r in enumerate(spec.routes):
        where = f"routes[{i}] ({r.name!r})"
        if r.name in seen:
            raise _fail(source, where, "duplicate route name")
        seen.add(r.name)
        expanded: set[str] = set()
        for item in r.intents:
            if item.startswith("@"):
                if item[1:] not in groups:
                    raise _fail(source, f"{where}.intents", f"unknown group {item!r}")
                expanded |= groups[item[1:]]
            elif item in intents:
                expanded.add(item)
            else:
                raise _fail(source, f"{where}.intents", f"unknown intent {item!r}")
        bad_states = [s for s in r.states if s not in states]
        if bad_states:
            raise _fail(source, f"{where}.states", f"unknown state(s) {bad_states}")
        parsed_guards = []
        for g in r.guards:
            name, want = (g[4:], False) if g.startswith("not:") else (g, True)
            if name not in guards:
                raise _fail(source, f"{where}.guards", f"unknown guard {g!r}")
            parsed_guards.append((name, want))
        if r.policy not in policies:
            raise _fail(source, f"{where}.policy", f"unknown policy {r.policy!r}")
        bad_triggers = sorted(set(r.fires) - triggers)
        if bad_triggers:
            raise _fail(source, f"{where}.fires", f"trigger(s) {bad_triggers} are not in the FSM")
        routes.append(Route(r.name, r.policy, frozenset(r.fires), frozenset(expanded),
                            frozenset(states[s] for s in r.states), tuple(parsed_guards), dict(r.params)))
    if routes[-1].intents or routes[-1].guards or routes[-1].states:
        raise _fail(source, f"routes[{len(routes) - 1}]", "the last route must take every message (no intents, "
                    "states or guards)")
    return RoutingTable(tuple(routes), groups, _compile_cues(source, spec.cues), source)


def load_routing(path: Path | str = DEFAULT_ROUTING_PATH, *, guards: set[str], policies: set[str],
                 transitions: tuple[Transition, ...] = TRANSITIONS, required_cues: set[str] = frozenset(),
                 intents: frozenset[str] | None = None) -> RoutingTable:
    """Read and validate the routing file; raises ``RoutingError`` naming file, route and field."""
    source = str(path)
    try:
        raw: Any = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise RoutingError(f"{source}: cannot read: {e}") from e
    except json.JSONDecodeError as e:
        raise RoutingError(f"{source}: line {e.lineno}: not JSON: {e.msg}") from e
    try:
        spec = RoutingSpec.model_validate(raw)
    except ValidationError as e:
        first = e.errors()[0]
        loc = ".".join(str(x) for x in first["loc"])
        raise RoutingError(f"{source}: {loc}: {first['msg']}") from e
    return validate_routing(spec, source=source, intents=intents or frozenset(intent_names()), guards=guards,
                            policies=policies, transitions=transitions, required_cues=required_cues)
