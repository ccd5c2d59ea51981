"""Neo4j access: the one driver factory, the local server launcher, migrations
and the named Cypher queries.

Owns: every byte of Cypher and every Bolt connection. Must not touch: models,
dialogue state, Flask.
"""
