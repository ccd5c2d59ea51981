"""One blueprint per area of the API."""

from __future__ import annotations

from flask import Blueprint


def all_blueprints() -> list[Blueprint]:
    from qa_api.blueprints import (
        analytics,
        chat,
        console,
        docs,
        handoffs,
        health,
        operators,
        ratings,
        sessions,
        stream,
        web,
        wechat,
    )

    return [chat.bp, sessions.bp, ratings.bp, handoffs.bp, operators.bp, analytics.bp, health.bp, docs.bp,
            stream.bp, console.bp, web.bp, wechat.bp]
