"""Shared, dependency-free definitions: settings, record schemas, the intent
taxonomy, graph migrations and the typed objects that cross packages.

Owns: the shapes of data. Must not touch: Neo4j, models, Flask.
"""
