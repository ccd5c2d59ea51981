"""Cypher for order lookup (``graph.orders``)."""

Q_ORDER = "MATCH (o:Order {order_id: $order_id}) RETURN properties(o) AS props"
