"""Answering policies: each turns an ``Understanding`` into a ``PolicyResult``
(reply, FSM trigger, sources) from the store's own data."""
