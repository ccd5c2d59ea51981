"""Cypher for loading the catalogue: upserts, deletes, relinks and state reads.

Used by ``ingest`` inside one managed write transaction per load. Every
upsert is ``UNWIND $rows AS row`` + ``MERGE`` on the entity's unique id, where
each row is the node's complete property map (policies: ``{props, clauses}``);
it replaces the node's properties (``SET n = row``) and its outgoing
relationships, so running the same batch twice is a no-op.

Relationships whose far end may be (re)created later are restored by the
``Q_RELINK_*`` queries from id lists stored on the nodes (``policy_ids``,
``applies_products``, ``about_product``, ``item_skus``).
"""

# --- serialising writers -------------------------------------------------------------
# Every knowledge write takes the version node's write lock first (SET then REMOVE
# of a dummy property: the lock without a lasting change), so concurrent loads and
# change-set applies run one after another and their stale checks hold.
Q_LOCK_VERSION = (
    "MERGE (k:KnowledgeVersion {id: 'current'}) "
    "ON CREATE SET k.version = 0, k.updated_at = datetime() "
    "SET k.lock = true REMOVE k.lock "
    "RETURN k.version AS version"
)
Q_BUMP_VERSION = (
    "MATCH (k:KnowledgeVersion {id: 'current'}) "
    "SET k.version = k.version + 1, k.updated_at = datetime(), k.updated_by = $author, "
    "k.source = $source "
    "RETURN k.version AS version"
)
Q_VERSION = "MATCH (k:KnowledgeVersion {id: 'current'}) RETURN k.version AS version"

# --- shared nodes ------------------------------------------------------------------------
Q_MERGE_CATEGORIES = """
UNWIND $rows AS row
MERGE (c:Category {path: row.path})
SET c.name = row.name, c.depth = row.depth
WITH c, row WHERE row.parent IS NOT NULL
MATCH (parent:Category {path: row.parent})
MERGE (c)-[:SUBCATEGORY_OF]->(parent)
"""
Q_MERGE_BRANDS = "UNWIND $names AS name MERGE (:Brand {name: name})"

# --- upserts -----------------------------------------------------------------------------
Q_UPSERT_POLICIES = """
UNWIND $rows AS row
MERGE (pol:Policy {policy_id: row.policy_id})
SET pol = row.props
WITH pol, row
CALL (pol) { MATCH (pol)-[:HAS_CLAUSE]->(old:Clause) DETACH DELETE old }
CALL (pol) { MATCH (pol)-[r:APPLIES_TO|EXCLUDES {via: 'policy'}]->() DELETE r }
CALL (pol, row) {
  UNWIND row.clauses AS clause
  CREATE (c:Clause)
  SET c = clause
  CREATE (pol)-[:HAS_CLAUSE]->(c)
}
"""

# Run after products exist: a policy's own targets.
Q_LINK_POLICY_TARGETS = """
UNWIND $rows AS row
MATCH (pol:Policy {policy_id: row.policy_id})
WITH pol, row.props AS row
CALL (pol, row) {
  UNWIND row.applies_categories AS path MATCH (t:Category {path: path})
  MERGE (pol)-[:APPLIES_TO {via: 'policy'}]->(t)
}
CALL (pol, row) {
  UNWIND row.applies_brands AS name MATCH (t:Brand {name: name})
  MERGE (pol)-[:APPLIES_TO {via: 'policy'}]->(t)
}
CALL (pol, row) {
  UNWIND row.applies_products AS pid MATCH (t:Product {product_id: pid})
  MERGE (pol)-[:APPLIES_TO {via: 'policy'}]->(t)
}
CALL (pol, row) {
  UNWIND row.excludes_categories AS path MATCH (t:Category {path: path})
  MERGE (pol)-[:EXCLUDES {via: 'policy'}]->(t)
}
CALL (pol, row) {
  UNWIND row.excludes_brands AS name MATCH (t:Brand {name: name})
  MERGE (pol)-[:EXCLUDES {via: 'policy'}]->(t)
}
CALL (pol, row) {
  UNWIND row.excludes_products AS pid MATCH (t:Product {product_id: pid})
  MERGE (pol)-[:EXCLUDES {via: 'policy'}]->(t)
}
"""

# A product's ``policies`` list becomes APPLIES_TO {via: 'product'} from each policy.
# Option lists of a product without variants (seed shape) and a variant's
# attributes become shared (:AttrValue {key_norm, value_norm}) facet nodes;
# ``key``/``value`` keep the spelling of the first writer, the exact spelling of
# each entity stays in its options_json / attributes_json.
Q_UPSERT_PRODUCTS = """
UNWIND $rows AS row
MERGE (p:Product {product_id: row.product_id})
SET p = row.props
WITH p, row
CALL (p) { MATCH (p)-[r:MADE_BY|IN_CATEGORY|HAS_OPTION]->() DELETE r }
CALL (p, row) {
  UNWIND row.values AS f
  MERGE (a:AttrValue {key_norm: f.key_norm, value_norm: f.value_norm})
  ON CREATE SET a.key = f.key, a.value = f.value
  MERGE (p)-[:HAS_OPTION]->(a)
}
CALL (p) { MATCH (p)<-[r:APPLIES_TO {via: 'product'}]-() DELETE r }
CALL (p, row) {
  WITH p, row WHERE row.props.brand IS NOT NULL
  MATCH (b:Brand {name: row.props.brand}) CREATE (p)-[:MADE_BY]->(b)
}
CALL (p, row) {
  WITH p, row WHERE row.props.category IS NOT NULL
  MATCH (c:Category {path: row.props.category}) CREATE (p)-[:IN_CATEGORY]->(c)
}
CALL (p, row) {
  UNWIND coalesce(row.props.policy_ids, []) AS policy_id MATCH (pol:Policy {policy_id: policy_id})
  MERGE (pol)-[:APPLIES_TO {via: 'product'}]->(p)
}
"""

Q_UPSERT_VARIANTS = """
UNWIND $rows AS row
MERGE (v:Variant {sku: row.sku})
SET v = row.props
WITH v, row
CALL (v) { MATCH (v)-[r:HAS_VALUE]->() DELETE r }
CALL (v, row) {
  UNWIND row.values AS f
  MERGE (a:AttrValue {key_norm: f.key_norm, value_norm: f.value_norm})
  ON CREATE SET a.key = f.key, a.value = f.value
  MERGE (v)-[:HAS_VALUE]->(a)
}
CALL (v, row) {
  MATCH (v)-[r:VARIANT_OF]->(old:Product) WHERE old.product_id <> row.product_id DELETE r
}
WITH v, row
MATCH (p:Product {product_id: row.product_id})
MERGE (v)-[:VARIANT_OF]->(p)
"""

Q_UPSERT_FAQS = """
UNWIND $rows AS row
MERGE (f:FAQ {faq_id: row.faq_id})
SET f = row
WITH f, row
CALL (f) { MATCH (f)-[r:ABOUT]->() DELETE r }
CALL (f, row) {
  WITH f, row WHERE row.about_product IS NOT NULL
  MATCH (t:Product {product_id: row.about_product}) CREATE (f)-[:ABOUT]->(t)
}
CALL (f, row) {
  WITH f, row WHERE row.about_category IS NOT NULL
  MATCH (t:Category {path: row.about_category}) CREATE (f)-[:ABOUT]->(t)
}
CALL (f, row) {
  WITH f, row WHERE row.about_policy IS NOT NULL
  MATCH (t:Policy {policy_id: row.about_policy}) CREATE (f)-[:ABOUT]->(t)
}
"""

Q_UPSERT_ORDERS = """
UNWIND $rows AS row
MERGE (o:Order {order_id: row.order_id})
SET o = row
WITH o, row
CALL (o) { MATCH (o)-[r:CONTAINS]->() DELETE r }
CALL (o, row) {
  UNWIND range(0, size(row.item_skus) - 1) AS i
  MATCH (v:Variant {sku: row.item_skus[i]})
  CREATE (o)-[:CONTAINS {qty: row.item_qtys[i]}]->(v)
}
"""

UPSERTS = {
    "policy": Q_UPSERT_POLICIES,
    "product": Q_UPSERT_PRODUCTS,
    "variant": Q_UPSERT_VARIANTS,
    "faq": Q_UPSERT_FAQS,
    "order": Q_UPSERT_ORDERS,
}

# --- restoring incoming relationships of (re)created nodes ------------------------------
Q_RELINK_PRODUCTS = """
UNWIND $ids AS pid
MATCH (p:Product {product_id: pid})
CALL (p, pid) {
  MATCH (pol:Policy) WHERE pid IN pol.applies_products
  MERGE (pol)-[:APPLIES_TO {via: 'policy'}]->(p)
}
CALL (p, pid) {
  MATCH (pol:Policy) WHERE pid IN pol.excludes_products
  MERGE (pol)-[:EXCLUDES {via: 'policy'}]->(p)
}
CALL (p, pid) {
  MATCH (f:FAQ {about_product: pid}) MERGE (f)-[:ABOUT]->(p)
}
"""
Q_RELINK_POLICIES = """
UNWIND $ids AS policy_id
MATCH (pol:Policy {policy_id: policy_id})
CALL (pol, policy_id) {
  MATCH (p:Product) WHERE policy_id IN p.policy_ids
  MERGE (pol)-[:APPLIES_TO {via: 'product'}]->(p)
}
CALL (pol, policy_id) {
  MATCH (f:FAQ {about_policy: policy_id}) MERGE (f)-[:ABOUT]->(pol)
}
"""
Q_HAS_ORDERS = "MATCH (o:Order) RETURN count(o) AS n"
Q_RELINK_VARIANTS = """
MATCH (o:Order) WHERE any(sku IN o.item_skus WHERE sku IN $ids)
CALL (o) { MATCH (o)-[r:CONTAINS]->() DELETE r }
WITH o
UNWIND range(0, size(o.item_skus) - 1) AS i
WITH o, o.item_skus[i] AS sku, o.item_qtys[i] AS qty
MATCH (v:Variant {sku: sku})
CREATE (o)-[:CONTAINS {qty: qty}]->(v)
"""
RELINKS = {
    "policy": Q_RELINK_POLICIES,
    "product": Q_RELINK_PRODUCTS,
    "variant": Q_RELINK_VARIANTS,
}

# Facet values no variant or product uses any more (after updates and deletes).
Q_DROP_UNUSED_VALUES = (
    "MATCH (a:AttrValue) WHERE NOT EXISTS { (a)<-[:HAS_VALUE|HAS_OPTION]-() } DELETE a"
)

# --- deletes ---------------------------------------------------------------------------------
Q_DELETE_POLICIES = """
UNWIND $ids AS id
MATCH (pol:Policy {policy_id: id})
CALL (pol) { MATCH (pol)-[:HAS_CLAUSE]->(c:Clause) DETACH DELETE c }
DETACH DELETE pol
"""
DELETES = {
    "policy": Q_DELETE_POLICIES,
    "product": "UNWIND $ids AS id MATCH (n:Product {product_id: id}) DETACH DELETE n",
    "variant": "UNWIND $ids AS id MATCH (n:Variant {sku: id}) DETACH DELETE n",
    "faq": "UNWIND $ids AS id MATCH (n:FAQ {faq_id: id}) DETACH DELETE n",
    "order": "UNWIND $ids AS id MATCH (n:Order {order_id: id}) DETACH DELETE n",
}

# --- reads for change detection, validation and diffs -------------------------------------------
# Hashes and ids come back as one record of lists: far cheaper for the driver
# than one record per entity.
_HASH_LISTS = " RETURN collect(id) AS ids, collect(coalesce(n.content_hash, '')) AS hashes"
HASHES = {
    "policy": "UNWIND $ids AS id MATCH (n:Policy {policy_id: id})" + _HASH_LISTS,
    "product": "UNWIND $ids AS id MATCH (n:Product {product_id: id})" + _HASH_LISTS,
    "variant": "UNWIND $ids AS id MATCH (n:Variant {sku: id})" + _HASH_LISTS,
    "faq": "UNWIND $ids AS id MATCH (n:FAQ {faq_id: id})" + _HASH_LISTS,
    "order": "UNWIND $ids AS id MATCH (n:Order {order_id: id})" + _HASH_LISTS,
}

# Every id of one entity type, for --prune. FAQ ids are split by origin: FAQ
# files own origin 'faq', product files own their inline 'product' entries.
ALL_IDS = {
    "policy": "MATCH (n:Policy) RETURN collect(n.policy_id) AS ids",
    "product": "MATCH (n:Product) RETURN collect(n.product_id) AS ids",
    "variant": "MATCH (n:Variant) RETURN collect(n.sku) AS ids",
    "faq": "MATCH (n:FAQ) WHERE n.origin = $origin RETURN collect(n.faq_id) AS ids",
    "order": "MATCH (n:Order) RETURN collect(n.order_id) AS ids",
}

STATES = {
    "policy": (
        "UNWIND $ids AS id MATCH (n:Policy {policy_id: id}) "
        "RETURN id, properties(n) AS props, "
        "[(n)-[:HAS_CLAUSE]->(c:Clause) | c {.text, .order}] AS clauses"
    ),
    "product": "UNWIND $ids AS id MATCH (n:Product {product_id: id}) RETURN id, properties(n) AS props",
    "variant": "UNWIND $ids AS id MATCH (n:Variant {sku: id}) RETURN id, properties(n) AS props",
    "faq": "UNWIND $ids AS id MATCH (n:FAQ {faq_id: id}) RETURN id, properties(n) AS props",
    "order": "UNWIND $ids AS id MATCH (n:Order {order_id: id}) RETURN id, properties(n) AS props",
}
