"""After agent hours a hand-off becomes a waiting ticket instead of a dead end.

The bot says when a person will reply and keeps answering what it can; every
new shopper message is added to the ticket, a callback number the shopper
leaves is kept on the ticket only (masked everywhere else), and 不用了 cancels
the hand-off. Tickets are ranked for the morning queue: anger and complaints,
then pre-sales (a product discussed, a cart or price question), then the rest.
"""

from __future__ import annotations

import re

from schema.conversation import HandoffTicket, SessionContext

PRIORITY_ANGER, PRIORITY_PRESALES, PRIORITY_OTHER = 0, 1, 2
PRIORITY_NAMES = {PRIORITY_ANGER: "anger_or_complaint", PRIORITY_PRESALES: "pre_sales", PRIORITY_OTHER: "other"}
_ANGRY_REASONS = frozenset({"anger", "dispute"})
_ANGRY_INTENTS = frozenset({"complaint"})
_PRESALES_INTENTS = frozenset({"product_attribute", "stock_check", "price_promotion", "size_advice"})
_PRESALES_WORDS = re.compile(r"购物车|下单|多少钱|价格|优惠|便宜|有货|库存|尺码|推荐|链接|想买")
_CANCEL = re.compile(r"^\s*(?:不用了|不用|不需要了|不需要|算了|不用人工|取消人工|取消转人工|不用转人工|不找人工了)"
                     r"[了啦吧哈呢，,。.!！\s]*(?:谢谢|谢啦)?[。.!！\s]*$")
_PHONE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")


def mask_phone(text: str) -> str:
    """138****5678 for every mobile number in the text."""
    return _PHONE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)


def callback_phone(text: str) -> str | None:
    m = _PHONE.search(text)
    return m.group(0) if m else None


def wants_cancel(text: str) -> bool:
    return bool(_CANCEL.match(text))


def priority(ticket: HandoffTicket, ctx: SessionContext, emotion_threshold: float = 0.7) -> int:
    """0 anger/complaint, 1 pre-sales, 2 the rest; from the reason, the intents and the products discussed."""
    intents = {t.intent for t in ctx.history if t.intent} | ({ticket.intent} if ticket.intent else set())
    if (ticket.reason in _ANGRY_REASONS or intents & _ANGRY_INTENTS
            or any(score > emotion_threshold for score in ctx.emotion_trend)):
        return PRIORITY_ANGER
    shopper_text = " ".join(t.text for t in ctx.history if t.role == "shopper")
    if (ctx.discussed_products or ctx.last_product_id or intents & _PRESALES_INTENTS
            or _PRESALES_WORDS.search(shopper_text)):
        return PRIORITY_PRESALES
    return PRIORITY_OTHER


def morning_queue(tickets: list[HandoffTicket]) -> list[HandoffTicket]:
    """Queued tickets by priority, oldest first within each priority."""
    queued = [t for t in tickets if t.status == "queued"]
    return sorted(queued, key=lambda t: (PRIORITY_OTHER if t.priority is None else t.priority, t.created_at,
                                         t.ticket_id))
