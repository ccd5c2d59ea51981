"""The HTTP API: a Flask application factory, one blueprint per area
(chat, sessions, hand-offs, operators, analytics, health, docs), bearer-token
roles, rate limits, JSON errors and logs, Prometheus metrics and an OpenAPI
document generated from the pydantic schemas.

Owns: HTTP. Must not touch: Cypher, dialogue decisions, model files.
"""
