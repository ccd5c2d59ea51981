"""Errors raised by the launchers in ``ops``; each CLI prints them on one line."""


class LaunchError(Exception):
    """Root of every error raised by ``ops``: a service could not be built, started or stopped."""


class Neo4jLaunchError(LaunchError):
    """The local Neo4j launcher could not be built, started or stopped."""


class RedisLaunchError(LaunchError):
    """The local Redis could not be found, started or stopped."""


class ApiLaunchError(LaunchError):
    """gunicorn could not be started or stopped, or the API did not become ready."""
