"""Turn one shopper message, in its session context, into an ``Understanding``.

The models (intent classifier, entity linker, emotion scorer) are passed in as
small Protocols; this module adds the conversation-level rules a model cannot
know: an explicit request for a human, a bare ``1``/``2``/``3`` answering a
clarifying question, slot values (order number, phone digits) the bot asked
for, and coreference (它 / 这个 / 换成蓝色的呢) to the product last talked about.

A short follow-up keeps the question of the turn before unless it asks one of
its own: 换成蓝色的呢 / 26寸的呢 after a price question asks the price again,
焦糖色的有几个 asks the stock (the ``asks_<intent>`` cue lists of the routing
data name which fact a message asks for), and 要是拆封了呢 / 买面包也是这样吗
after a policy question stays on that policy. Product ids are recognised by the
linker from the store's own id schemes (``retrieval.entity_ids``), not here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

from dialog.routing import Cues
from dialog.sibling_compare import Measure
from dialog.sizing import asks_for_size, parse_measures
from schema.conversation import DialogState, SessionContext
from schema.types import EntityLink, IntentPrediction


class IntentClassifier(Protocol):
    def classify(self, text: str) -> IntentPrediction: ...


class EntityLinker(Protocol):
    def link(self, text: str) -> list[EntityLink]: ...


class EmotionScorer(Protocol):
    def score(self, text: str) -> float: ...


PRODUCT_INTENTS = frozenset({"product_attribute", "stock_check", "price_promotion", "size_advice"})
ORDER_INTENTS = frozenset({"order_status", "change_address", "cancel_order"})
# Intents a policy follow-up (要是…呢) never continues: conversation moves, not questions about a rule.
NOT_POLICY_TOPICS = PRODUCT_INTENTS | ORDER_INTENTS | {"greeting", "goodbye", "out_of_scope", "human_agent",
                                                       "complaint"}
PLEASANTRY_INTENTS = frozenset({"greeting", "goodbye"})
SIZE_INTENT = "size_advice"
STOCK_INTENT = "stock_check"
ATTRIBUTE_INTENT = "product_attribute"
# The fact a message may ask for by a cue list named ``asks_<intent>`` in the routing data.
FACT_INTENTS = ("stock_check", "price_promotion")
MAX_FOLLOW_UP = 14
ATTRIBUTE_TYPES = frozenset({"color", "size", "attribute"})
# Entities that name what a question is about in place of the product in context.
SCOPE_TYPES = frozenset({"product", "brand", "category"})

_CHOICE = re.compile(r"^\s*(?:第)?([1-3１-３一二三])(?:个|条|项)?\s*[。.!！]?\s*$")
_CHOICE_WORDS = {"1": 1, "2": 2, "3": 3, "１": 1, "２": 2, "３": 3, "一": 1, "二": 2, "三": 3}
_ORDER_ID = re.compile(r"(?<!\d)(\d[\d ]{14,22}\d)(?!\d)")
_LAST4 = re.compile(r"(?<!\d)(\d{4})(?!\d)")
_COREF = re.compile(r"它|这个|这款|那款|这件|那件|这双|那双|这台|这部|这种|那个|这只|同款")


@dataclass
class Understanding:
    text: str
    intent: str
    confidence: float
    unsure: bool
    entities: list[EntityLink] = field(default_factory=list)
    emotion: float = 0.0
    explicit_handoff: bool = False
    choice: int | None = None
    order_id: str | None = None
    last4: str | None = None
    product_link: EntityLink | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    # Other values the linker considered for each attribute (酒红 -> 红色, then 酒红色...).
    attribute_alternatives: dict[str, tuple[str, ...]] = field(default_factory=dict)
    coreference: bool = False
    # The message asks a question of its own (多少钱 / 有几个 / 吗), not only names an option.
    own_question: bool = False
    # The one fact (stock_check / price_promotion) a cue of the message asks for, if exactly one.
    asked_fact: str | None = None
    # The shopper's question this message follows up (要是拆封了呢 -> the return question before it).
    follows: str | None = None
    # A short question naming no product (好装吗) that asks about the product being discussed.
    implicit_product: bool = False
    # The classifier's best intents with their probabilities, best first.
    ranking: tuple[tuple[str, float], ...] = ()
    # 跟大号的比 高多少 (dialog.resolve): the products compared (the current one first), or the
    # current one alone with the variant value named; the fragment and the measurement asked.
    compare_ids: tuple[str, ...] = ()
    compare_variant: str | None = None
    compare_fragment: str | None = None
    compare_measure: Measure | None = None

    @property
    def product_id(self) -> str | None:
        return self.product_link.value if self.product_link else None


def _order_id(text: str, entities: list[EntityLink]) -> str | None:
    for e in entities:
        if e.type == "order_id":
            return e.value
    m = _ORDER_ID.search(text)
    if m:
        digits = m.group(1).replace(" ", "")
        if len(digits) == 16:
            return digits
    return None


def asked_fact(text: str, cues: Cues) -> str | None:
    """The one product fact ``text`` asks for by its words (有几个 -> stock_check), or None."""
    found = [intent for intent in FACT_INTENTS if cues.has(f"asks_{intent}", text)]
    return found[0] if len(found) == 1 else None


def understand(
    text: str,
    context: SessionContext,
    classifier: IntentClassifier,
    linker: EntityLinker,
    emotion: EmotionScorer,
    cues: Cues,
) -> Understanding:
    """Classify, link and score ``text``, then apply the conversation rules.

    ``cues`` are the routing data's cue lists (``explicit_human`` is read here).
    """
    prediction = classifier.classify(text)
    entities = linker.link(text)
    u = Understanding(
        text=text,
        intent=prediction.intent,
        confidence=prediction.confidence,
        unsure=prediction.unsure,
        entities=entities,
        emotion=emotion.score(text),
        ranking=prediction.ranking,
    )
    u.explicit_handoff = cues.has("explicit_human", text)
    if u.explicit_handoff:
        u.intent, u.unsure = "human_agent", False

    m = _CHOICE.match(text)
    if m and context.state == DialogState.CLARIFY and context.pending_options:
        u.choice = _CHOICE_WORDS[m.group(1)]

    u.order_id = _order_id(text, entities)
    for e in entities:
        if e.type == "phone_last4":
            u.last4 = e.value
    if u.last4 is None and context.state == DialogState.AWAIT_PHONE_LAST4:
        m4 = _LAST4.search(text)
        if m4 and u.order_id is None:
            u.last4 = m4.group(1)

    products = [e for e in entities if e.type == "product"]
    if products:
        u.product_link = max(products, key=lambda e: e.score)
    for e in entities:
        if e.type in ATTRIBUTE_TYPES:
            # An "attribute" link (storage, spec...) does not say which property it is;
            # the product policy resolves it against the product's variants by value.
            key = e.type if e.type != "attribute" else f"attribute:{e.value}"
            if key not in u.attributes:
                u.attributes[key] = e.value
                u.attribute_alternatives[key] = e.candidates
    u.coreference = bool(_COREF.search(text))
    if u.unsure and u.intent in PLEASANTRY_INTENTS and (u.product_link or u.attributes):
        # "那绿的呢" is no goodbye: a message naming a product or a variant, when the classifier
        # doubts it is chat, is a product question (its best product intent in the ranking).
        u.intent = next((i for i, _ in prediction.ranking if i in PRODUCT_INTENTS), "product_attribute")
    if (u.intent == SIZE_INTENT and cues.has("other_options", text) and not asks_for_size(text)
            and not parse_measures(text)):
        # "有哪几个尺寸" lists the sizes on offer; it does not ask which one fits.
        u.intent = ATTRIBUTE_INTENT
    elif ((u.intent in PRODUCT_INTENTS or u.unsure) and asks_for_size(text)
          and any(isinstance(v, float) for v in parse_measures(text).values())):
        # "身高175 选哪个尺寸": a measurement and the question which size is size advice.
        u.intent, u.unsure = SIZE_INTENT, False
    u.own_question = cues.has("own_question", text)
    u.asked_fact = asked_fact(text, cues)
    if u.intent == ATTRIBUTE_INTENT and u.asked_fact == STOCK_INTENT:
        # "…还有几套": the words ask how many are left, whatever else the message names.
        u.intent = STOCK_INTENT
    _follow_up(u, context, cues)
    if (u.order_id and u.intent not in ORDER_INTENTS and u.intent != "shipping"
            and (len(text) <= 24 or cues.has("my_parcel", text))):
        # An order number with a short message, or asking where it is (到哪一步了), asks its status.
        u.intent, u.unsure = "order_status", False
    # The product the bot asked for: the pending question continues with it.
    if (context.state == DialogState.AWAIT_PRODUCT and u.product_link and context.pending_intent
            and not u.explicit_handoff):
        u.intent = context.pending_intent
    return u


def _follow_up(u: Understanding, context: SessionContext, cues: Cues) -> None:
    """A short follow-up continues the question of the turn before (see the module docstring)."""
    text = u.text
    if u.explicit_handoff or len(text) > MAX_FOLLOW_UP or not context.last_intent:
        return
    last = context.last_intent
    if context.last_product_id and last in PRODUCT_INTENTS:
        # "换成蓝色的呢" after a stock question: same question, new attribute.
        new_attribute = u.product_link is None and bool(u.attributes) and (
            u.unsure or cues.has("continuation", text) or u.intent not in PRODUCT_INTENTS)
        # "26寸的呢" naming another product of the family, with no question of its own.
        new_product = (u.product_link is not None and cues.has("continuation", text) and not u.own_question)
        if new_attribute or new_product:
            u.intent, u.unsure = u.asked_fact or last, False
            u.coreference = u.coreference or new_attribute
        elif (u.product_link is None and u.asked_fact and cues.has("continuation", text)
              and (u.unsure or u.intent in PRODUCT_INTENTS)):
            # "那就要大一点的 还有几个": a fact word of its own about the same product.
            u.intent, u.unsure, u.coreference = u.asked_fact, False, True
        elif (u.product_link is None and not u.unsure and u.intent not in NOT_POLICY_TOPICS
              and not any(e.type in SCOPE_TYPES for e in u.entities)):
            # "好装吗" right after a product: a short question that names no product of its own
            # asks about the one being discussed (its own FAQ and the rules in force for it).
            u.coreference = u.implicit_product = True
        return
    if last not in NOT_POLICY_TOPICS and cues.has("follow_up", text) and u.asked_fact is None and (
            u.unsure or u.intent in PRODUCT_INTENTS):
        # "要是拆封了呢" after a return question: the same rule, for the case named now,
        # looked up together with the question it follows.
        u.intent, u.unsure, u.coreference = last, False, True
        earlier = [t.text for t in context.history if t.role == "shopper"]
        if earlier and earlier[-1] == text:
            earlier.pop()  # the engine has already recorded this message
        u.follows = earlier[-1] if earlier else None
