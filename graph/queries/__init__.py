"""Named Cypher queries, one module per area.

Owns: every Cypher string the application runs outside migrations. Values are
always ``$parameters``; writes are ``UNWIND $rows AS row`` batches.

- ``catalog_write``: upserts, deletes and state reads used by ``ingest``
- ``knowledge``: the read API behind ``graph.knowledge.GraphKnowledge``
- ``changesets``: storage of operators' change sets
- ``orders``: order lookup behind ``graph.orders.GraphOrderService``
"""
