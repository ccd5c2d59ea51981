"""Cypher for operators' change sets (``ingest.changesets``)."""

Q_CREATE = "CREATE (c:ChangeSet) SET c = $props"

Q_GET = "MATCH (c:ChangeSet {id: $id}) RETURN properties(c) AS props"

# Locks the change set row for the rest of the transaction and returns it.
Q_GET_FOR_UPDATE = (
    "MATCH (c:ChangeSet {id: $id}) SET c.lock = true REMOVE c.lock RETURN properties(c) AS props"
)

Q_UPDATE = "MATCH (c:ChangeSet {id: $id}) SET c += $props"

# The listing leaves out the large JSON fields (diff, planned states, before values).
Q_LIST = (
    "MATCH (c:ChangeSet) "
    "RETURN c {.id, .author, .created_at, .status, .applied_at, .rolled_back_at, .files, .summary, "
    ".knowledge_version} AS props ORDER BY c.created_at DESC LIMIT $limit"
)
