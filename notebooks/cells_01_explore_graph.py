"""Cells of ``01_explore_graph.ipynb``: what the knowledge graph holds."""

NAME = "01_explore_graph"

CELLS: list[tuple[str, str]] = [
    ("md", r"""
    # 01 · 知识图谱概览 (explore the graph)

    What the store's knowledge graph holds: node and relationship counts, the
    category tree, stock and sold-out share per category, the policies in force
    for one category today, and one product's neighbourhood.

    The connection comes from the project's settings (`NEO4J_URI`, `YEBAN_*`
    environment or `.env`), exactly as for the service. Load the demo store
    first: `make demo` (or `python -m ingest load data/demo`). Figures are
    written to `var/reports/notebooks/`.
    """),
    ("code", r"""
    import yeban_nb

    ctx = yeban_nb.connect()
    print("Neo4j:", ctx.settings.bolt_uri, "| database:", ctx.database)
    print("figures:", ctx.figures_dir)
    """),
    ("md", r"""
    ## Counts by label and relationship type
    """),
    ("code", r"""
    import matplotlib.pyplot as plt

    from graph.introspect import describe_schema

    schema = describe_schema(ctx.driver, ctx.database)
    labels = {k: v for k, v in schema.labels.items() if k != "Migration" and v > 0}
    rels = {k: v for k, v in schema.relationships.items() if v > 0}
    assert labels.get("Product", 0) > 0, "the graph has no products: run `python -m ingest load data/demo` first"
    yeban_nb.show(sorted(labels.items(), key=lambda kv: -kv[1]), ["label", "nodes"])
    print()
    yeban_nb.show(sorted(rels.items(), key=lambda kv: -kv[1]), ["relationship", "count"])

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, counts, title in ((axes[0], labels, "节点数（按标签）"), (axes[1], rels, "关系数（按类型）")):
        items = sorted(counts.items(), key=lambda kv: kv[1])
        ax.barh([k for k, _ in items], [v for _, v in items], color="#4C72B0")
        ax.set_xscale("log")
        ax.set_title(title)
        for i, (_, v) in enumerate(items):
            ax.text(v, i, f" {v}", va="center", fontsize=8)
        ax.set_xlim(right=max(counts.values()) * 4)
    fig.tight_layout()
    ctx.save_fig(fig, "01_counts")
    plt.show()
    """),
    ("md", r"""
    ## The category tree

    `(:Category)-[:SUBCATEGORY_OF]->(:Category)` up to the roots; products hang
    off the leaves. Numbers are products in the whole subtree. The icicle chart
    shows the same tree: each box is a category, its height the number of
    products under it.
    """),
    ("code", r"""
    from collections import defaultdict

    from graph import explore

    tree = explore.category_tree(ctx.driver, ctx.database)
    children = defaultdict(list)
    for c in tree:
        children[c.parent].append(c)
    for kids in children.values():
        kids.sort(key=lambda c: c.path)

    subtree = {}

    def count(node):
        subtree[node.path] = node.products + sum(count(k) for k in children[node.path])
        return subtree[node.path]

    roots = children[None]
    for root in roots:
        count(root)

    def walk(node, indent=0):
        print("    " * indent + f"{node.name}  ({subtree[node.path]})")
        for kid in children[node.path]:
            walk(kid, indent + 1)

    for root in roots:
        walk(root)
    print(f"\n{len(tree)} categories, {len(roots)} roots, {sum(1 for c in tree if not children[c.path])} leaves")
    """),
    ("code", r"""
    import matplotlib.patches as mpatches

    fig, ax = plt.subplots(figsize=(13, 15))
    palette = plt.get_cmap("tab10")
    max_depth = max(c.depth for c in tree)

    def draw(node, y0, colour):
        height = subtree[node.path]
        if height == 0:
            return
        ax.add_patch(mpatches.Rectangle((node.depth - 1, y0), 1, height, facecolor=colour,
                                        edgecolor="white", alpha=0.35 + 0.2 * (node.depth - 1)))
        if height >= 3:
            ax.text(node.depth - 0.95, y0 + height / 2, f"{node.name} {height}", va="center", fontsize=8)
        offset = y0
        for kid in children[node.path]:
            draw(kid, offset, colour)
            offset += subtree[kid.path]

    y = 0
    for i, root in enumerate(roots):
        draw(root, y, palette(i % 10))
        y += subtree[root.path]
    ax.set_xlim(0, max_depth)
    ax.set_ylim(y, 0)
    ax.set_xticks([d + 0.5 for d in range(max_depth)], [f"第{d + 1}级" for d in range(max_depth)])
    ax.set_ylabel("商品数")
    ax.set_title("类目树（冰柱图）：高度 = 该类目下的商品数")
    fig.tight_layout()
    ctx.save_fig(fig, "01_category_tree")
    plt.show()
    """),
    ("md", r"""
    ## Stock per category

    One row per variant (SKU); a product without variants counts once with its
    `total_stock`. *Sold out* means stock 0.
    """),
    ("code", r"""
    rows = explore.stock_rows(ctx.driver, ctx.database)
    by_top = explore.stock_by_category(rows, depth=1)
    yeban_nb.show([(c.category, c.products, c.skus, c.units, c.sold_out_skus, f"{c.sold_out_share:.1%}")
                   for c in by_top],
                  ["category", "products", "SKUs", "units", "sold out", "sold-out share"])

    stocks = defaultdict(list)
    for r in rows:
        if r.stock is not None:
            stocks[explore.category_at_depth(r.category, 1)].append(r.stock)

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.8))
    names = [c.category for c in by_top]
    ax1.boxplot([stocks[n] for n in names], showfliers=True)
    ax1.set_xticks(range(1, len(names) + 1), names, rotation=30)
    ax1.set_yscale("symlog", linthresh=10)
    ax1.set_ylim(bottom=0)
    ax1.set_title("每个 SKU 的库存分布（按一级类目）")
    ax1.set_ylabel("库存（件）")
    shares = [c.sold_out_share * 100 for c in by_top]
    ax2.bar(names, shares, color="#C44E52")
    for i, c in enumerate(by_top):
        ax2.text(i, shares[i], f"{c.sold_out_skus}/{c.skus}", ha="center", va="bottom", fontsize=8)
    ax2.set_title("售罄 SKU 占比（按一级类目）")
    ax2.set_ylabel("%")
    ax2.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    ctx.save_fig(fig, "01_stock")
    plt.show()
    """),
    ("code", r"""
    # Leaf categories with the largest sold-out share (at least 5 SKUs).
    leaves = [c for c in explore.stock_by_category(rows, depth=max_depth) if c.skus >= 5]
    worst = sorted(leaves, key=lambda c: (-c.sold_out_share, c.category))[:12]
    yeban_nb.show([(c.category, c.skus, c.sold_out_skus, f"{c.sold_out_share:.1%}") for c in worst],
                  ["leaf category", "SKUs", "sold out", "share"])
    """),
    ("md", r"""
    ## Policies in force for one category today

    A policy applies to a category when its `applies_to` names the category or
    one of its ancestors (paths are prefixes) and no `excludes` entry covers it,
    and today lies in `[effective_from, effective_to)`. The timeline shows every
    policy's window; the ones in force for the chosen category are highlighted.
    """),
    ("code", r"""
    from datetime import datetime, timedelta

    from graph.knowledge import GraphKnowledge

    CATEGORY = "服装/女装/连衣裙"
    knowledge = GraphKnowledge(ctx.driver, ctx.database)
    today = datetime.now().astimezone()
    clauses = knowledge.clauses_in_force(category=CATEGORY, at=today)
    by_policy = defaultdict(list)
    for clause in clauses:
        by_policy[(clause.policy_id, clause.policy_title)].append(clause)
    print(f"{CATEGORY}：{today:%Y-%m-%d} 生效的政策 {len(by_policy)} 条（条款 {len(clauses)} 条）")
    for (policy_id, title), items in by_policy.items():
        print(f"\n【{title}】{policy_id}")
        for clause in items[:2]:
            print(f"  {clause.order}. {clause.text}")
        if len(items) > 2:
            print(f"  … 另有 {len(items) - 2} 条")
    """),
    ("code", r"""
    windows = explore.policy_windows(ctx.driver, ctx.database)
    in_force_here = {policy_id for policy_id, _ in by_policy}
    starts = [w.effective_from for w in windows if w.effective_from]
    horizon = max([today + timedelta(days=120)] + [w.effective_to for w in windows if w.effective_to])
    left = min(starts + [today - timedelta(days=30)])

    fig, ax = plt.subplots(figsize=(13, 0.42 * len(windows) + 1.5))
    for i, w in enumerate(windows):
        start = w.effective_from or left
        end = w.effective_to or horizon
        if w.policy_id in in_force_here:
            colour = "#C44E52"
        elif w.in_force(today):
            colour = "#8C9DB5"
        else:
            colour = "#DDDDDD"
        ax.barh(i, end - start, left=start, color=colour, edgecolor="white")
        ax.text(start, i, f" {w.title}（{w.clauses} 条）" + ("" if w.effective_to else " →"),
                va="center", fontsize=8)
    ax.axvline(today, color="black", lw=1)
    ax.text(today, -0.9, " 今天", fontsize=9)
    ax.set_yticks(range(len(windows)), [w.policy_id for w in windows], fontsize=8)
    ax.set_ylim(len(windows) - 0.5, -1.2)
    ax.set_xlim(left, horizon)
    ax.legend(handles=[mpatches.Patch(color="#C44E52", label=f"今天对「{CATEGORY}」生效"),
                       mpatches.Patch(color="#8C9DB5", label="今天生效，但不适用于该类目"),
                       mpatches.Patch(color="#DDDDDD", label="今天不在有效期内")],
              loc="upper center", bbox_to_anchor=(0.5, -0.07), ncol=3, fontsize=8)
    ax.set_title(f"政策有效期（→ 表示长期有效）；红色为今天适用于「{CATEGORY}」的政策")
    fig.autofmt_xdate()
    fig.tight_layout()
    ctx.save_fig(fig, "01_policies_timeline")
    plt.show()
    """),
    ("code", r"""
    # Which policies are in force today for a few categories: the coverage matrix.
    import numpy as np

    sample = [c.path for c in tree if c.depth == 1] + [CATEGORY, "服装/内衣/文胸", "手机数码/手机", "食品生鲜/水果"]
    sample = [p for p in dict.fromkeys(sample) if p in subtree]
    current = [w for w in windows if w.in_force(today)]
    matrix = np.zeros((len(sample), len(current)))
    for i, path in enumerate(sample):
        ids = {c.policy_id for c in knowledge.clauses_in_force(category=path, at=today)}
        matrix[i] = [w.policy_id in ids for w in current]

    fig, ax = plt.subplots(figsize=(0.55 * len(current) + 3, 0.45 * len(sample) + 2.5))
    ax.imshow(matrix, cmap="Reds", vmin=0, vmax=1.4, aspect="auto")
    ax.set_xticks(range(len(current)), [w.title for w in current], rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(sample)), sample, fontsize=9)
    ax.set_title("今天生效的政策 × 类目（深色 = 适用）")
    fig.tight_layout()
    ctx.save_fig(fig, "01_policy_coverage")
    plt.show()
    """),
    ("md", r"""
    ## One product's neighbourhood

    The product, its variants, brand, category chain, the FAQ about it and the
    policies attached to it, its brand or any category on its chain. Greyed
    policies are not in force today (expired or not yet started).
    """),
    ("code", r"""
    import json
    from datetime import datetime

    import networkx as nx

    PRODUCT_ID = explore.showcase_product(ctx.driver, ctx.database)
    hood = explore.product_neighbourhood(ctx.driver, ctx.database, PRODUCT_ID)
    now = datetime.now().astimezone()

    def in_force(node):
        start, end = node.props.get("effective_from"), node.props.get("effective_to")
        return (start is None or start <= now) and (end is None or now < end)

    def caption(node):
        if node.label == "Variant":
            attrs = json.loads(node.props.get("attributes_json") or "{}")
            text = "/".join(str(v) for v in attrs.values()) or node.key
            return f"{text}\n库存 {node.props.get('stock')}"
        text = node.caption
        if node.label == "Product":
            return "\n".join(text[i:i + 10] for i in range(0, len(text), 10))
        return text if len(text) <= 12 else text[:11] + "…"

    G = nx.DiGraph()
    for node in hood.nodes:
        G.add_node(node.id, node=node)
    for edge in hood.edges:
        G.add_edge(edge.source, edge.target, type=edge.type)

    groups = hood.by_label()
    ring1 = [n.id for label in ("Variant", "Brand", "Category", "FAQ") for n in groups.get(label, [])]
    ring2 = [n.id for n in groups.get("Policy", [])]
    pos = nx.kamada_kawai_layout(G.to_undirected(), pos=nx.shell_layout(G, nlist=[[hood.center], ring1, ring2]))

    colours = {"Product": "#DD8452", "Variant": "#55A868", "Brand": "#8172B3", "Category": "#4C72B0",
               "FAQ": "#DA8BC3", "Policy": "#C44E52"}
    fig, ax = plt.subplots(figsize=(14, 11))
    for label, colour in colours.items():
        ids = [n.id for n in groups.get(label, [])]
        alphas = [0.25 if label == "Policy" and not in_force(G.nodes[i]["node"]) else 0.9 for i in ids]
        nx.draw_networkx_nodes(G, pos, nodelist=ids, node_color=colour, alpha=alphas,
                               node_size=2200 if label == "Product" else 900, ax=ax, label=label)
    nx.draw_networkx_edges(G, pos, ax=ax, arrows=True, arrowsize=12, edge_color="#888888",
                           style=["dashed" if d["type"] == "EXCLUDES" else "solid" for *_, d in G.edges(data=True)],
                           node_size=900)
    nx.draw_networkx_labels(G, pos, labels={n: caption(G.nodes[n]["node"]) for n in G.nodes}, font_size=8,
                            font_family=ctx.font_name, ax=ax)
    nx.draw_networkx_edge_labels(G, pos, edge_labels={(u, v): d["type"] for u, v, d in G.edges(data=True)},
                                 font_size=6, font_color="#555555", ax=ax)
    product = G.nodes[hood.center]["node"]
    ax.set_title(f"{product.caption}（{PRODUCT_ID}）的邻域：变体、品牌、类目、FAQ 与政策")
    ax.legend(scatterpoints=1, markerscale=0.5, loc="lower left")
    ax.axis("off")
    fig.tight_layout()
    ctx.save_fig(fig, "01_neighbourhood")
    plt.show()

    yeban_nb.show(sorted(((n.label, n.key, n.caption) for n in hood.nodes), key=lambda t: (t[0], t[1])),
                  ["label", "id", "caption"], max_rows=40)
    """),
    ("code", r"""
    print("figures written:")
    for path in ctx.saved:
        print(" ", path)
    """),
]
