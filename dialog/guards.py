"""The named guards the routing data may use (``dialog/routing.json``).

Each guard is a pure test of the understood message in its session context;
cue-based guards read their general-language cue lists from the routing data.
"""

from __future__ import annotations

from collections.abc import Callable

from dialog.routing import Cues
from dialog.understand import Understanding
from schema.conversation import SessionContext

ANGER_THRESHOLD = 0.7

Guard = Callable[[Understanding, SessionContext, Cues], bool]

GUARDS: dict[str, Guard] = {
    # anger above the threshold: a person at once
    "angry": lambda u, ctx, cues: u.emotion > ANGER_THRESHOLD,
    # 转人工 and the like, found by understanding (cue list explicit_human)
    "explicit_handoff": lambda u, ctx, cues: u.explicit_handoff,
    # the shopper picked one of the offered options (1/2/3, 第二个, or a fragment of one)
    "choice_made": lambda u, ctx, cues: u.choice is not None,
    # an order number or phone digits arrived while the bot waits for one
    "order_slot_given": lambda u, ctx, cues: bool(u.order_id or u.last4),
    # the message names an order number
    "order_reference": lambda u, ctx, cues: bool(u.order_id),
    # a question about how something works (can I, how, how long, who pays)
    "information_question": lambda u, ctx, cues: cues.has("information_question", u.text),
    # a question about the rule itself (几次, 多久, 谁出...), even when told with the shopper's own case
    "rule_question": lambda u, ctx, cues: cues.has("rule_question", u.text),
    # a request to act on the shopper's own order (帮我, 我要, 这单...)
    "own_order_action": lambda u, ctx, cues: cues.has("own_order_action", u.text),
    # the shopper's own parcel: an order number, or 我的/到哪/单号...
    "own_order": lambda u, ctx, cues: bool(u.order_id) or cues.has("my_parcel", u.text),
    # a complaint that names what went wrong (broken, missing, late)
    "concrete_problem": lambda u, ctx, cues: cues.has("concrete_problem", u.text),
    # a product is named or still being discussed
    "product_in_context": lambda u, ctx, cues: u.product_link is not None or bool(ctx.last_product_id),
    # the classifier is sure of its intent
    "confident": lambda u, ctx, cues: not u.unsure,
}

# Cue lists the engine reads directly (besides the guards above).
REQUIRED_CUES = frozenset({"explicit_human", "my_parcel", "information_question", "own_order_action", "rule_question",
                           "continuation", "concrete_problem", "complaint_noise", "own_question", "asks_stock_check",
                           "asks_price_promotion", "follow_up", "other_options"})
