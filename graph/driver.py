"""The single place where a Neo4j driver is created.

One driver per process: the application factory or a CLI entry point calls
``connect`` once and passes the driver to whatever needs it.
"""

from __future__ import annotations

import logging

import neo4j
from neo4j import exceptions as neo4j_exc

from graph.breaker import breaker_for
from graph.errors import GraphUnavailableError
from schema.settings import Settings

logger = logging.getLogger(__name__)


def create_driver(settings: Settings) -> neo4j.Driver:
    """Build a driver from settings without touching the network."""
    return neo4j.GraphDatabase.driver(
        settings.bolt_uri,
        auth=(settings.neo4j_user, settings.neo4j_password.get_secret_value()),
        max_connection_pool_size=50,
        connection_acquisition_timeout=10.0,
        connection_timeout=5.0,
        max_transaction_retry_time=settings.neo4j_max_retry_s,
        notifications_min_severity="OFF",
    )


def verify(driver: neo4j.Driver, database: str) -> None:
    """Run ``RETURN 1`` over Bolt; raise ``GraphUnavailableError`` with one clear line."""
    try:
        # A plain session run: no managed-transaction retries, so a dead server
        # is reported at once instead of after the driver's 30 s retry budget.
        with driver.session(database=database) as session:
            session.run("RETURN 1 AS ok").consume()
    except neo4j_exc.AuthError as e:
        raise GraphUnavailableError(
            "Neo4j refused the credentials (check NEO4J_USER / NEO4J_PASSWORD)"
        ) from e
    except (neo4j_exc.ServiceUnavailable, neo4j_exc.SessionExpired, OSError) as e:
        # The driver's message spans lines; operators need one.
        reason = " ".join(str(e).split())
        raise GraphUnavailableError(f"Neo4j is not reachable: {reason}") from e
    except neo4j_exc.ClientError as e:
        raise GraphUnavailableError(f"Neo4j rejected the request: {e.message}") from e
    except ValueError as e:  # malformed URI
        raise GraphUnavailableError(f"invalid Neo4j URI: {e}") from e


def connect(settings: Settings) -> neo4j.Driver:
    """Create a driver and check it works; the caller owns ``close()``."""
    try:
        driver = create_driver(settings)
    except (ValueError, neo4j_exc.ConfigurationError) as e:
        raise GraphUnavailableError(f"invalid Neo4j URI {settings.bolt_uri!r}: {e}") from e
    try:
        verify(driver, settings.neo4j_database)
    except GraphUnavailableError:
        driver.close()
        raise
    logger.debug("connected to %s", settings.bolt_uri)
    return driver


class GraphReader:
    """Base for the read-side services: holds the driver (passed in, never created here)
    and runs one parameterised read query on the configured database, through the driver's
    circuit breaker (``graph.breaker``)."""

    def __init__(self, driver: neo4j.Driver, database: str) -> None:
        self._driver = driver
        self._database = database

    def _read(self, query: str, **params: object) -> list[neo4j.Record]:
        """Fails fast with ``GraphUnavailableError`` while the driver's breaker is open."""
        records, _, _ = breaker_for(self._driver).call(lambda: self._driver.execute_query(
            query, params, database_=self._database, routing_=neo4j.RoutingControl.READ))
        return records
