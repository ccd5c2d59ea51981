"""Cypher for attributing loaded orders to conversations (``graph.conversion``)."""

# Orders by id with their phone hash and amount (item quantity x variant price).
Q_ORDER_FACTS = """
UNWIND $ids AS id
MATCH (o:Order {order_id: id})
OPTIONAL MATCH (o)-[c:CONTAINS]->(v:Variant)
OPTIONAL MATCH (v)-[:VARIANT_OF]->(p:Product)
WITH o, collect({qty: c.qty, price: coalesce(v.price, p.price), product_id: p.product_id}) AS items
RETURN o.order_id AS order_id, o.created_at AS created_at, o.phone_hash AS phone_hash,
       o.user_id AS user_id, o.status AS status,
       reduce(total = 0.0, i IN items | total + coalesce(i.qty, 0) * coalesce(i.price, 0.0)) AS amount,
       [i IN items WHERE i.product_id IS NOT NULL | i.product_id] AS product_ids
"""

# Phone hashes of the orders a shopper verified in a session.
Q_PHONE_HASHES = """
UNWIND $ids AS id
MATCH (o:Order {order_id: id})
RETURN o.order_id AS order_id, o.phone_hash AS phone_hash
"""
