"""Human agents' queue: list tickets, claim one, reply through it, close it
(closing hands the conversation back to the bot)."""

from __future__ import annotations

import logging

from flask import Blueprint, Response

from dialog.after_hours import morning_queue
from qa_api.channels.delivery import deliver_agent_reply
from qa_api.errors import Conflict, ServiceUnavailable
from qa_api.routing import (
    Operation,
    current_identity,
    endpoint,
    json_response,
    parse_body,
    parse_query,
    services,
)
from qa_api.schemas import AgentReplyRequest, HandoffListQuery, TicketList
from schema.conversation import HandoffTicket

logger = logging.getLogger(__name__)
bp = Blueprint("handoffs", __name__)
_AGENT = ("agent",)


@endpoint(bp, "/v1/handoffs", ["GET"], Operation(
    summary="Hand-off tickets, oldest first, optionally by status; order=priority gives the morning queue",
    tag="handoffs", roles=_AGENT,
    query=HandoffListQuery, response=TicketList, errors=(400, 401, 403)))
def list_tickets() -> Response:
    query = parse_query(HandoffListQuery)
    tickets = services().handoffs.list(query.status)
    if query.order == "priority":
        tickets = morning_queue(tickets)
    return json_response(TicketList(tickets=tickets))


@endpoint(bp, "/v1/handoffs/<ticket_id>", ["GET"], Operation(
    summary="One hand-off ticket", tag="handoffs", roles=_AGENT, response=HandoffTicket,
    errors=(401, 403, 404)))
def get_ticket(ticket_id: str) -> Response:
    return json_response(services().handoffs.get(ticket_id))


@endpoint(bp, "/v1/handoffs/<ticket_id>/claim", ["POST"], Operation(
    summary="Claim a queued ticket (each ticket can be claimed once)", tag="handoffs", roles=_AGENT,
    response=HandoffTicket, errors=(401, 403, 404, 409)))
def claim(ticket_id: str) -> Response:
    agent = current_identity().name
    ticket = services().handoffs.claim(ticket_id, agent)
    logger.info("ticket %s claimed by %s", ticket_id, agent)
    return json_response(ticket)


def _engine():
    engine = services().engine
    if engine is None:
        raise ServiceUnavailable("the chat engine is not configured", code="engine_unavailable")
    return engine


@endpoint(bp, "/v1/handoffs/<ticket_id>/reply", ["POST"], Operation(
    summary="Send the agent's reply into the conversation", tag="handoffs", roles=_AGENT,
    request=AgentReplyRequest, response=HandoffTicket, errors=(400, 401, 403, 404, 409)))
def reply(ticket_id: str) -> Response:
    body = parse_body(AgentReplyRequest)
    identity = current_identity()
    ticket = services().handoffs.get(ticket_id)
    if ticket.status == "queued":
        raise Conflict(f"ticket {ticket_id} must be claimed before replying", code="ticket_state")
    if ticket.status == "claimed" and ticket.claimed_by != identity.name and identity.role != "admin":
        raise Conflict(f"ticket {ticket_id} is claimed by {ticket.claimed_by}", code="ticket_state")
    updated = _engine().agent_reply(ticket_id, identity.name, body.text)
    deliver_agent_reply(updated.session_id, body.text)  # WeChat shoppers get it pushed
    return json_response(updated)


@endpoint(bp, "/v1/handoffs/<ticket_id>/close", ["POST"], Operation(
    summary="Close the ticket; the bot answers the conversation again", tag="handoffs", roles=_AGENT,
    response=HandoffTicket, errors=(401, 403, 404, 409)))
def close(ticket_id: str) -> Response:
    identity = current_identity()
    agent = identity.name
    if identity.role == "admin":  # an admin may close a ticket another agent holds
        agent = services().handoffs.get(ticket_id).claimed_by or agent
    ticket = _engine().close_handoff(ticket_id, agent)
    logger.info("ticket %s closed by %s", ticket_id, identity.name)
    return json_response(ticket)
