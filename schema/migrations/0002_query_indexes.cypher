// Indexes on what the answering queries filter by: variant attributes and
// stock, product price and category, policy time windows, and a CJK full-text
// index over product names and aliases for entity lookup.
CREATE INDEX variant_color IF NOT EXISTS FOR (v:Variant) ON (v.color);
CREATE INDEX variant_size IF NOT EXISTS FOR (v:Variant) ON (v.size);
CREATE INDEX variant_stock IF NOT EXISTS FOR (v:Variant) ON (v.stock);
CREATE INDEX variant_product IF NOT EXISTS FOR (v:Variant) ON (v.product_id);
CREATE INDEX product_price IF NOT EXISTS FOR (p:Product) ON (p.price);
CREATE INDEX product_category IF NOT EXISTS FOR (p:Product) ON (p.category);
CREATE INDEX policy_window IF NOT EXISTS FOR (p:Policy) ON (p.effective_from, p.effective_to);
CREATE INDEX order_status IF NOT EXISTS FOR (o:Order) ON (o.status);
CREATE FULLTEXT INDEX product_names IF NOT EXISTS FOR (p:Product) ON EACH [p.name, p.alias_text]
  OPTIONS {indexConfig: {`fulltext.analyzer`: 'cjk'}};
