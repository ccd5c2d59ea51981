// Attribute values as shared facet nodes: (:Variant)-[:HAS_VALUE]->(:AttrValue)
// and (:Product)-[:HAS_OPTION]->(:AttrValue) for products without variants.
// One node per (key_norm, value_norm): NFKC-normalised, case-folded name and
// value, so any store's names (颜色, color, 适用车型) are safe and facet counts
// are one index lookup plus a relationship count.
CREATE CONSTRAINT attr_value_key IF NOT EXISTS FOR (a:AttrValue) REQUIRE (a.key_norm, a.value_norm) IS UNIQUE;
CREATE INDEX attr_value_value IF NOT EXISTS FOR (a:AttrValue) ON (a.value_norm);
// Variant attributes are no longer stored as Variant properties.
DROP INDEX variant_color IF EXISTS;
DROP INDEX variant_size IF EXISTS;
