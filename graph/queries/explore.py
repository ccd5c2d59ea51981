"""Cypher for read-only exploration views (``graph.explore``): the category
tree, stock per category and one product's neighbourhood, for notebooks and
operators. Nothing here writes.
"""

# Every category with its parent and the number of products filed directly under it.
Q_CATEGORY_TREE = (
    "MATCH (c:Category) "
    "OPTIONAL MATCH (c)-[:SUBCATEGORY_OF]->(parent:Category) "
    "CALL (c) { OPTIONAL MATCH (p:Product)-[:IN_CATEGORY]->(c) RETURN count(p) AS products } "
    "RETURN c.path AS path, c.name AS name, c.depth AS depth, parent.path AS parent, products "
    "ORDER BY path"
)

# One row per variant (or per variant-less product, with its total_stock) and its leaf category.
Q_STOCK_ROWS = (
    "MATCH (p:Product) "
    "OPTIONAL MATCH (p)-[:IN_CATEGORY]->(c:Category) "
    "OPTIONAL MATCH (v:Variant)-[:VARIANT_OF]->(p) "
    "WITH p, c, collect(v) AS variants "
    "UNWIND CASE WHEN size(variants) = 0 THEN [null] ELSE variants END AS v "
    "RETURN p.product_id AS product_id, coalesce(c.path, p.category) AS category, "
    "v.sku AS sku, coalesce(v.stock, p.total_stock) AS stock "
    "ORDER BY product_id, sku"
)

# The product and everything one hop away (variants, brand, category, FAQ, policies).
Q_PRODUCT_EDGES = (
    "MATCH (p:Product {product_id: $product_id})-[r]-(n) "
    "RETURN type(r) AS type, startNode(r) = p AS outgoing, labels(n) AS labels, "
    "properties(n) AS props"
)

Q_PRODUCT = "MATCH (p:Product {product_id: $product_id}) RETURN properties(p) AS props"

# The leaf category's chain up to the root, leaf first.
Q_CATEGORY_CHAIN = (
    "MATCH (:Product {product_id: $product_id})-[:IN_CATEGORY]->(leaf:Category) "
    "MATCH (leaf)-[:SUBCATEGORY_OF*0..]->(c:Category) "
    "RETURN c.path AS path, c.name AS name, c.depth AS depth ORDER BY c.depth DESC"
)

# Policies attached (APPLIES_TO / EXCLUDES) to the product, its brand or a category on its chain.
Q_POLICY_LINKS = (
    "MATCH (p:Product {product_id: $product_id}) "
    "OPTIONAL MATCH (p)-[:MADE_BY]->(b:Brand) "
    "OPTIONAL MATCH (p)-[:IN_CATEGORY]->(:Category)-[:SUBCATEGORY_OF*0..]->(c:Category) "
    "WITH p, collect(DISTINCT b) + collect(DISTINCT c) + [p] AS anchors "
    "UNWIND anchors AS anchor "
    "MATCH (pol:Policy)-[r:APPLIES_TO|EXCLUDES]->(anchor) "
    "RETURN pol.policy_id AS policy_id, pol.title AS title, pol.effective_from AS effective_from, "
    "pol.effective_to AS effective_to, type(r) AS type, "
    "labels(anchor) AS labels, properties(anchor) AS props "
    "ORDER BY policy_id"
)

# A product that has variants, a brand, a category, FAQ and policies, richest first.
Q_SHOWCASE_PRODUCT = (
    "MATCH (p:Product)-[:IN_CATEGORY]->(:Category) "
    "CALL (p) { OPTIONAL MATCH (v:Variant)-[:VARIANT_OF]->(p) RETURN count(v) AS variants } "
    "CALL (p) { OPTIONAL MATCH (f:FAQ)-[:ABOUT]->(p) RETURN count(f) AS faqs } "
    "CALL (p) { OPTIONAL MATCH (pol:Policy)-[:APPLIES_TO]->(p) RETURN count(pol) AS policies } "
    "WITH p, variants, faqs, policies WHERE 0 < variants <= 12 "
    "RETURN p.product_id AS product_id "
    "ORDER BY faqs > 0 DESC, policies DESC, faqs DESC, variants ASC, product_id LIMIT 1"
)

# Every policy with its validity window and clause count.
Q_POLICY_WINDOWS = (
    "MATCH (pol:Policy) "
    "CALL (pol) { OPTIONAL MATCH (pol)-[:HAS_CLAUSE]->(c:Clause) RETURN count(c) AS clauses } "
    "RETURN pol.policy_id AS policy_id, pol.title AS title, pol.version AS version, "
    "pol.effective_from AS effective_from, pol.effective_to AS effective_to, clauses "
    "ORDER BY pol.effective_from, pol.policy_id"
)
