"""Cypher behind product search and recommendation (``graph.search``).

Structured constraints arrive as parameters, never as query text: a category
path prefix (``Product.category`` range index, STARTS WITH), a candidate id
list (unique constraint), a price window and in-stock only, both applied per
variant so that a product qualifies through a variant that is in stock *and*
inside the window. Attribute values (颜色, 尺寸, 容量, any store's names) are
matched afterwards against each variant's attribute map, because attribute
names differ per store and the map is the one representation every loader
keeps.
"""

_VARIANT_MAP = (
    "v {.sku, .stock, price: coalesce(v.price, p.price), .attributes_json}"
)

Q_SEARCH_CANDIDATES = f"""
MATCH (p:Product)
WHERE ($prefix IS NULL OR p.category = $prefix OR p.category STARTS WITH $prefix + '/')
  AND ($ids IS NULL OR p.product_id IN $ids)
OPTIONAL MATCH (v:Variant)-[:VARIANT_OF]->(p)
WITH p, collect({_VARIANT_MAP}) AS all_variants
WITH p, all_variants,
     [x IN all_variants WHERE x.sku IS NOT NULL
        AND ($in_stock_only = false OR coalesce(x.stock, 0) > 0)
        AND ($min_price IS NULL OR x.price >= $min_price)
        AND ($max_price IS NULL OR x.price <= $max_price)] AS variants
WHERE (size([x IN all_variants WHERE x.sku IS NOT NULL]) > 0 AND size(variants) > 0)
   OR (size([x IN all_variants WHERE x.sku IS NOT NULL]) = 0
       AND ($in_stock_only = false OR coalesce(p.total_stock, 0) > 0)
       AND ($min_price IS NULL OR p.price >= $min_price)
       AND ($max_price IS NULL OR p.price <= $max_price))
RETURN properties(p) AS props, variants
ORDER BY p.product_id
"""

# Every product with the texts its search document is made of (for the vector index).
Q_PRODUCT_DOCUMENTS = """
MATCH (p:Product)
OPTIONAL MATCH (v:Variant)-[:VARIANT_OF]->(p)
WITH p, collect(v.attributes_json) AS attrs
RETURN p.product_id AS product_id, p.name AS name, p.brand AS brand, p.category AS category,
       p.description AS description, p.aliases AS aliases, p.options_json AS options_json,
       attrs
ORDER BY p.product_id
"""
