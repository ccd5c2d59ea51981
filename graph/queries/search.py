"""Cypher behind product search and recommendation (``graph.search``).

Structured constraints arrive as parameters, never as query text: a category
path prefix (``Product.category`` range index, STARTS WITH) or, for a product
shelved elsewhere (a kids' vacuum cup under kids' cups), the category's word in
its name or aliases (``$word``), a candidate id
list (unique constraint), a price window and in-stock only, both applied per
variant so that a product qualifies through a variant that is in stock *and*
inside the window. Attribute values (颜色, 尺寸, 容量, any store's names) are
facets: ``Q_FACET_MATCHES`` finds the shared ``(:AttrValue)`` nodes by value
(range index ``attr_value_value`` for an exact value, TEXT index
``attr_value_text`` for a value inside a store's own name) and walks to the
variants (``HAS_VALUE``) and variant-less products (``HAS_OPTION``) that hold
one for every facet asked.
"""

_VARIANT_MAP = (
    "v {.sku, .stock, price: coalesce(v.price, p.price), .attributes_json}"
)

Q_SEARCH_CANDIDATES = f"""
MATCH (p:Product)
WHERE ($prefix IS NULL OR p.category = $prefix OR p.category STARTS WITH $prefix + '/'
       OR ($word IS NOT NULL AND (p.name CONTAINS $word OR any(a IN coalesce(p.aliases, []) WHERE a CONTAINS $word))))
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

# Variants / variant-less products holding a value for every facet. ``$facets``
# is a list of ``{keys: [key_norm, ...] | null, n: index}``; ``$exact`` and
# ``$partial`` are ``{facet: index, value: value_norm}`` terms (the value equals,
# or lies inside, the stored value). ``keys`` names one option in every spelling
# (颜色, color); a variant none of whose names is among them (a store's own name
# for the option) matches the value under any name. ``null`` keys: any name.
# The TEXT index is a hint, not the planner's choice: on a small or freshly wiped
# graph its statistics can make a label scan look cheaper, and a catalogue grows.
_FACET_VALUES = """
CALL () {
  UNWIND $exact AS t
  MATCH (a:AttrValue {value_norm: t.value})
  RETURN t.facet AS facet, a
  UNION
  UNWIND $partial AS t
  MATCH (a:AttrValue) USING TEXT INDEX a:AttrValue(value_norm)
  WHERE a.value_norm CONTAINS t.value
  RETURN t.facet AS facet, a
}
WITH facet, a, $facets[facet].keys AS keys
"""

Q_FACET_VARIANTS = _FACET_VALUES + """
MATCH (a)<-[:HAS_VALUE]-(v:Variant)
WHERE keys IS NULL OR a.key_norm IN keys
   OR NOT EXISTS { MATCH (v)-[:HAS_VALUE]->(b:AttrValue) WHERE b.key_norm IN keys }
WITH v, facet, min(a.value) AS value
WITH v, collect({facet: facet, value: value}) AS hits
WHERE size(hits) = size($facets)
RETURN v.product_id AS product_id, v.sku AS sku, [h IN hits | [toString(h.facet), h.value]] AS values
ORDER BY product_id, sku
"""

Q_FACET_PRODUCTS = _FACET_VALUES + """
MATCH (a)<-[:HAS_OPTION]-(p:Product)
WHERE NOT EXISTS { MATCH (p)<-[:VARIANT_OF]-(:Variant) }
  AND (keys IS NULL OR a.key_norm IN keys
       OR NOT EXISTS { MATCH (p)-[:HAS_OPTION]->(b:AttrValue) WHERE b.key_norm IN keys })
WITH p, facet, min(a.value) AS value
WITH p, collect({facet: facet, value: value}) AS hits
WHERE size(hits) = size($facets)
RETURN p.product_id AS product_id, [h IN hits | [toString(h.facet), h.value]] AS values
ORDER BY product_id
"""
