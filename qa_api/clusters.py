"""Group similar unanswered questions, so that an operator turns a cluster, not each
wording, into one FAQ entry.

Questions are compared by the Jaccard similarity of their character bigrams (Chinese
has no spaces; bigrams carry most of a short question's meaning). Clustering is
greedy over the questions by descending count: a question joins the first cluster
whose representative it resembles enough, else it starts a new one. Deterministic
and cheap for the few dozen questions an analytics window lists.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, Field

DEFAULT_THRESHOLD = 0.34


class QuestionCluster(BaseModel):
    representative: str
    count: int = Field(description="messages in the cluster")
    questions: list[str]


def bigrams(text: str) -> frozenset[str]:
    chars = "".join(text.split())
    if len(chars) < 2:
        return frozenset({chars}) if chars else frozenset()
    return frozenset(chars[i:i + 2] for i in range(len(chars) - 1))


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def cluster_questions(items: Iterable[tuple[str, int]],
                      threshold: float = DEFAULT_THRESHOLD) -> list[QuestionCluster]:
    """``(text, count)`` pairs -> clusters, the largest first."""
    ordered = sorted(items, key=lambda tc: (-tc[1], tc[0]))
    groups: list[tuple[frozenset[str], list[tuple[str, int]]]] = []
    for text, count in ordered:
        grams = bigrams(text)
        for rep_grams, members in groups:
            if similarity(grams, rep_grams) >= threshold:
                members.append((text, count))
                break
        else:
            groups.append((grams, [(text, count)]))
    clusters = [QuestionCluster(representative=members[0][0], count=sum(c for _, c in members),
                                questions=[t for t, _ in members]) for _, members in groups]
    return sorted(clusters, key=lambda c: (-c.count, c.representative))
