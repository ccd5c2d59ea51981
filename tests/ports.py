"""Loopback ports the test suite uses, all derived from two environment variables
so that a second checkout can run its suite beside a first one."""

from __future__ import annotations

import os

NEO4J = int(os.environ.get("YEBAN_TEST_NEO4J_PORT", "7688"))
NEO4J_SCRATCH_LIFECYCLE = NEO4J + 3   # tests/ops/test_neo4j.py
NEO4J_SCRATCH_ATOMICITY = NEO4J + 4   # tests/ingest/test_atomicity.py (stopped and killed mid-load)
NEO4J_SCRATCH_OUTAGE = NEO4J + 5      # tests/qa_api/test_neo4j_down.py (stopped mid-conversation)
REDIS = int(os.environ.get("YEBAN_TEST_REDIS_PORT", "6390"))
REDIS_SCRATCH = REDIS + 1
API_BROWSER = REDIS + 2                # tests/browser: gunicorn serving the widget and consoles
API_LOAD = REDIS + 5                  # tests/load (gunicorn under load and faults)
API_NODE_A = REDIS + 6                # tests/ops/test_two_nodes.py
API_NODE_B = REDIS + 7
