"""Errors raised by the graph package; the API maps them to HTTP once."""


class GraphError(Exception):
    """Root of every error raised by ``graph``."""


class GraphUnavailableError(GraphError):
    """Neo4j cannot be reached, or refused our credentials."""


class MigrationError(GraphError):
    """A schema migration file is malformed or failed to apply."""
