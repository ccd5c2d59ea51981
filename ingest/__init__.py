"""Loading store data into the knowledge graph, and operators' change sets.

Owns: reading products / policies / FAQ / orders / stock files
(``readers``, ``csv_catalog``), validating a whole load before any write
(``validate``), working out what changes (``states``, ``plan``), writing it in
one transaction (``writer``, ``loader``), reviewed change sets with apply and
rollback (``changesets``) and the CLI (``python -m ingest``).
Must not touch: models, FAISS, dialogue state, Flask. All Cypher it runs comes
from ``graph.queries``.
"""
