"""Route an understood message: the first route of the table whose intents,
states and guards hold and whose policy does not decline answers it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from dialog.errors import DialogError
from dialog.guards import GUARDS, REQUIRED_CUES, Guard
from dialog.policies.base import PolicyContext, PolicyResult
from dialog.routing import DEFAULT_ROUTING_PATH, Route, RoutingTable, load_routing
from dialog.understand import Understanding
from schema.conversation import SessionContext

logger = logging.getLogger(__name__)

# A policy answers (PolicyResult) or declines (None: the next matching route is tried).
Policy = Callable[[Understanding, PolicyContext, Route], PolicyResult | None]


class RouteMisfire(DialogError):
    """A policy fired a trigger its route does not declare (a bug in the policy or the data)."""


class Router:
    """``Router(table, policies).route(u, pc)`` -> (route, result).

    >>> router = Router.load(policies={"knowledge": answer_from_faq, ...})
    """

    def __init__(self, table: RoutingTable, policies: dict[str, Policy],
                 guards: dict[str, Guard] | None = None) -> None:
        self.table = table
        self.policies = policies
        self.guards = guards or GUARDS

    @classmethod
    def load(cls, policies: dict[str, Policy], path=DEFAULT_ROUTING_PATH) -> Router:
        """Load and validate the routing data against the taxonomy, the FSM, the guards and ``policies``."""
        table = load_routing(path, guards=set(GUARDS), policies=set(policies), required_cues=set(REQUIRED_CUES))
        return cls(table, policies)

    def matching(self, u: Understanding, ctx: SessionContext) -> Iterator[Route]:
        for route in self.table.routes:
            if route.intents and u.intent not in route.intents:
                continue
            if route.states and ctx.state not in route.states:
                continue
            if all(self.guards[g](u, ctx, self.table.cues) == want for g, want in route.guards):
                yield route

    def route(self, u: Understanding, pc: PolicyContext) -> tuple[Route, PolicyResult]:
        for route in self.matching(u, pc.context):
            result = self.policies[route.policy](u, pc, route)
            if result is None:
                logger.debug("route %s declined", route.name)
                continue
            if result.trigger not in route.fires:
                raise RouteMisfire(f"route {route.name!r} (policy {route.policy!r}) fired {result.trigger!r}, "
                                   f"not one of {sorted(route.fires)}")
            return route, result
        raise RouteMisfire("no route answered (the last route of the table must not decline)")
