"""Print the graph's schema and counts (``python -m graph.describe``)."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict

from graph.driver import connect
from graph.errors import GraphError
from graph.introspect import describe_schema
from schema.settings import load_settings


def main() -> int:
    settings = load_settings()
    try:
        driver = connect(settings)
        try:
            schema = describe_schema(driver, settings.neo4j_database)
        finally:
            driver.close()
    except GraphError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(json.dumps(asdict(schema), ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
