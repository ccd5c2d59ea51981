"""Cypher behind ``graph.knowledge.GraphKnowledge`` (read-only).

Index use (checked with EXPLAIN in tests/graph/test_knowledge.py):
products by ``product_id`` (unique constraint), variants by ``product_id``
(range index) with their ``AttrValue`` facet values, cheapest by ``Product.price`` /
``Product.category`` (range indexes, STARTS WITH), policies by their window
(``policy_window``), FAQ and policies by id. The lexicon queries read whole
labels on purpose.
"""

Q_PRODUCT = "MATCH (p:Product {product_id: $product_id}) RETURN properties(p) AS props"
Q_PRODUCTS = "UNWIND $ids AS id MATCH (p:Product {product_id: id}) RETURN properties(p) AS props"
# The products of an order's SKUs (variants by their unique ``sku``), in the order asked.
Q_PRODUCTS_OF_SKUS = ("UNWIND range(0, size($skus) - 1) AS i MATCH (v:Variant {sku: $skus[i]}) "
                      "RETURN v.product_id AS product_id ORDER BY i")

_VARIANT_RETURN = """
OPTIONAL MATCH (v)-[:VARIANT_OF]->(p:Product)
RETURN v.sku AS sku, v.product_id AS product_id, v.stock AS stock,
       coalesce(v.price, p.price) AS price, v.attributes_json AS attributes_json
ORDER BY v.sku
"""
Q_VARIANTS = "MATCH (v:Variant) WHERE v.product_id = $product_id" + _VARIANT_RETURN
# Variants whose facet values match every filter ``{keys: [key_norm, ...], value: value_norm}``:
# ``keys`` lists the names meaning one option (颜色, color, ...), so any store's names work.
Q_VARIANTS_FILTERED = (
    "MATCH (v:Variant) WHERE v.product_id = $product_id "
    "AND all(f IN $filters WHERE EXISTS { "
    "MATCH (v)-[:HAS_VALUE]->(a:AttrValue) WHERE a.key_norm IN f.keys AND a.value_norm = f.value })"
    + _VARIANT_RETURN
)

# In stock: a variant with stock, or (no variants) a positive or unknown total.
# Pattern comprehensions expand from each candidate product in price order, so
# LIMIT 1 stops at the first product in stock.
_IN_STOCK = (
    "WITH p, [(p)<-[:VARIANT_OF]-(v:Variant) | v.stock] AS stocks "
    "WHERE $in_stock_only = false OR (coalesce(p.total_stock, 1) > 0 "
    "AND (size(stocks) = 0 OR any(s IN stocks WHERE s > 0))) "
)
Q_CHEAPEST = (
    "MATCH (p:Product) WHERE p.price IS NOT NULL "
    "WITH p ORDER BY p.price, p.product_id " + _IN_STOCK
    + "RETURN properties(p) AS props LIMIT 1"
)
Q_CHEAPEST_IN_CATEGORY = (
    "MATCH (p:Product) WHERE p.category STARTS WITH $prefix "
    "AND (p.category = $prefix OR p.category STARTS WITH $prefix + '/') AND p.price IS NOT NULL "
    "WITH p ORDER BY p.price, p.product_id " + _IN_STOCK
    + "RETURN properties(p) AS props LIMIT 1"
)
Q_CHEAPEST_AMONG = (
    "MATCH (p:Product) WHERE p.product_id IN $ids AND p.price IS NOT NULL "
    "AND ($prefix IS NULL OR p.category = $prefix OR p.category STARTS WITH $prefix + '/') "
    "WITH p ORDER BY p.price, p.product_id " + _IN_STOCK
    + "RETURN properties(p) AS props LIMIT 1"
)

# Clauses of every policy in force at $at for a product (its category path up
# the hierarchy, its brand, itself) or for a bare category. A policy without
# APPLIES_TO targets is store-wide; any matching EXCLUDES target removes it.
Q_CLAUSES_IN_FORCE = """
OPTIONAL MATCH (prod:Product {product_id: $product_id})
WITH prod, coalesce(prod.category, $category) AS cat
OPTIONAL MATCH (:Category {path: cat})-[:SUBCATEGORY_OF*0..]->(anc:Category)
WITH prod, collect(DISTINCT anc) AS ancestors
MATCH (pol:Policy)
WHERE pol.effective_from <= $at AND (pol.effective_to IS NULL OR pol.effective_to > $at)
WITH pol, prod, ancestors,
     [(pol)-[:APPLIES_TO]->(t) | t] AS targets,
     [(pol)-[:EXCLUDES]->(x) | x] AS excluded
WHERE (size(targets) = 0 OR any(t IN targets WHERE t IN ancestors
        OR (prod IS NOT NULL AND (t = prod OR (t:Brand AND t.name = prod.brand)))))
  AND none(x IN excluded WHERE x IN ancestors
        OR (prod IS NOT NULL AND (x = prod OR (x:Brand AND x.name = prod.brand))))
MATCH (pol)-[:HAS_CLAUSE]->(c:Clause)
RETURN c.clause_id AS clause_id, pol.policy_id AS policy_id, pol.title AS policy_title,
       c.text AS text, c.order AS order
ORDER BY pol.policy_id, c.order
"""

_CLAUSE_RETURN = (
    "RETURN c.clause_id AS clause_id, pol.policy_id AS policy_id, pol.title AS policy_title, "
    "c.text AS text, c.order AS order ORDER BY pol.policy_id, c.order"
)
Q_POLICY_CLAUSES = "MATCH (pol:Policy {policy_id: $policy_id})-[:HAS_CLAUSE]->(c:Clause) " + _CLAUSE_RETURN
Q_ALL_CLAUSES = (
    "MATCH (pol:Policy)-[:HAS_CLAUSE]->(c:Clause) "
    "RETURN c.clause_id AS clause_id, pol.policy_id AS policy_id, pol.title AS policy_title, "
    "c.text AS text, c.order AS order, pol.effective_from AS effective_from, "
    "pol.effective_to AS effective_to ORDER BY pol.policy_id, c.order"
)

Q_FAQ = "MATCH (f:FAQ {faq_id: $faq_id}) RETURN properties(f) AS props"
Q_ALL_FAQ = "MATCH (f:FAQ) RETURN properties(f) AS props ORDER BY f.faq_id"

Q_LEX_PRODUCTS = (
    "MATCH (p:Product) RETURN p.product_id AS product_id, p.name AS name, p.aliases AS aliases, "
    "p.brand AS brand, p.category AS category, p.options_json AS options_json"
)
Q_LEX_VARIANTS = "MATCH (v:Variant) RETURN v.product_id AS product_id, v.attributes_json AS attributes_json"
Q_LEX_CATEGORIES = "MATCH (c:Category) RETURN c.path AS path, c.name AS name"
Q_LEX_BRANDS = "MATCH (b:Brand) RETURN b.name AS name"

Q_KNOWLEDGE_VERSION = "MATCH (k:KnowledgeVersion {id: 'current'}) RETURN k.version AS version"
