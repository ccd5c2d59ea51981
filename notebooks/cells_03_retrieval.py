"""Cells of ``03_retrieval.ipynb``: FAQ retrieval quality, dense vs keyword vs hybrid."""

NAME = "03_retrieval"

CELLS: list[tuple[str, str]] = [
    ("md", r"""
    # 03 · FAQ 检索效果 (retrieval quality)

    How well the FAQ searcher finds the right entry for questions it has never
    seen (`data/eval/faq_heldout.jsonl`: shopper wordings that are neither the
    FAQ question nor one of its paraphrases). Three modes side by side:

    * **dense**: e5 cosine over the FAISS index (questions and paraphrases),
    * **keyword**: BM25 over jieba terms,
    * **hybrid**: the weighted fusion the service uses (`retrieval.faq_search.SearchConfig`).

    Metrics (`retrieval.metrics`): top-1 accuracy, recall@k and MRR. Then the
    failure cases, the score distribution against the answer / clarify
    thresholds, and a 2-D PCA map of the FAQ embeddings coloured by tag.

    Needs the demo store in Neo4j; the notebook builds the vector index through
    `retrieval.index_build` (a no-op when it is current).
    """),
    ("code", r"""
    import yeban_nb

    ctx = yeban_nb.connect()
    print("Neo4j:", ctx.settings.bolt_uri, "| index:", ctx.settings.index_dir)
    """),
    ("code", r"""
    from graph.knowledge import GraphKnowledge
    from retrieval.faq_search import FAQSearcher
    from retrieval.index_build import build_index
    from retrieval.keyword import KeywordIndex
    from retrieval.tokenize import Tokenizer
    from retrieval.vector_index import VectorIndex

    knowledge = GraphKnowledge(ctx.driver, ctx.database)
    encoder = ctx.encoder()
    report = build_index(knowledge, encoder, ctx.settings.index_dir)
    print(f"index {report.version}: {report.total} texts ({report.faqs} FAQ, {report.clauses} clauses), "
          f"{report.embedded} embedded now, graph version {report.graph_version}")

    searcher = FAQSearcher(VectorIndex(ctx.settings.index_dir), KeywordIndex(Tokenizer()), encoder)
    searcher.warm_up()
    faqs = {f.faq_id: f for f in knowledge.all_faq()}
    print(len(faqs), "FAQ entries;", searcher.config)
    """),
    ("md", r"""
    ## Top-1, recall@k and MRR per mode
    """),
    ("code", r"""
    from retrieval.metrics import evaluate_faq, load_heldout, ranking_metrics, recall_at_k

    heldout = load_heldout(ctx.settings.data_dir / "eval" / "faq_heldout.jsonl")
    in_scope = [h for h in heldout if h.faq_id]
    missing = sorted({h.faq_id for h in in_scope} - set(faqs))
    assert not missing, f"held-out ids not in the graph: {missing[:5]}"
    MODES = ("dense", "keyword", "hybrid")
    K = 10

    metrics = evaluate_faq(searcher, heldout, k=K, modes=MODES)
    yeban_nb.show([(mode, m.n, m.top1, m.recall_at_3, m.recall_at_5, m.mrr) for mode, m in metrics.items()],
                  ["mode", "queries", "top-1", "recall@3", "recall@5", "MRR"])

    # The ranked lists themselves, for the curves and the failure cases below.
    hits = {mode: [searcher.search(h.query, k=K, kind="faq", mode=mode) for h in in_scope] for mode in MODES}
    ranked = {mode: [[hit.id for hit in hs] for hs in hits[mode]] for mode in MODES}
    gold = [h.faq_id for h in in_scope]
    for mode in MODES:  # the same numbers as evaluate_faq
        assert ranking_metrics(ranked[mode], gold) == metrics[mode], mode
    """),
    ("code", r"""
    import matplotlib.pyplot as plt
    import numpy as np

    colours = {"dense": "#4C72B0", "keyword": "#DD8452", "hybrid": "#55A868"}
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.5))
    names = ["top-1", "recall@3", "recall@5", "MRR"]
    width = 0.26
    for i, mode in enumerate(MODES):
        m = metrics[mode]
        values = [m.top1, m.recall_at_3, m.recall_at_5, m.mrr]
        bars = ax1.bar(np.arange(len(names)) + (i - 1) * width, values, width, label=mode, color=colours[mode])
        ax1.bar_label(bars, fmt="%.2f", fontsize=7)
    ax1.set_xticks(range(len(names)), names)
    ax1.set_ylim(0, 1.08)
    ax1.set_title(f"留出集 {len(in_scope)} 条问法：三种检索方式对比")
    ax1.legend(loc="lower right")

    ks = range(1, K + 1)
    for mode in MODES:
        ax2.plot(ks, [recall_at_k(ranked[mode], gold, k) for k in ks], marker="o", label=mode, color=colours[mode])
    ax2.set_xlabel("k")
    ax2.set_ylabel("recall@k")
    ax2.set_xticks(list(ks))
    ax2.set_ylim(0, 1.02)
    ax2.grid(alpha=0.3)
    ax2.set_title("recall@k 曲线")
    ax2.legend(loc="lower right")
    fig.tight_layout()
    ctx.save_fig(fig, "03_metrics")
    plt.show()
    """),
    ("code", r"""
    # Where the modes disagree: queries one mode gets right at top-1 and the other does not.
    right = {mode: [r[:1] == [g] for r, g in zip(ranked[mode], gold, strict=True)] for mode in MODES}
    rows = []
    for a in MODES:
        for b in MODES:
            if a < b:
                only_a = sum(x and not y for x, y in zip(right[a], right[b], strict=True))
                only_b = sum(y and not x for x, y in zip(right[a], right[b], strict=True))
                both = sum(x and y for x, y in zip(right[a], right[b], strict=True))
                rows.append((f"{a} vs {b}", both, only_a, only_b))
    yeban_nb.show(rows, ["pair", "both right", "only first", "only second"])
    """),
    ("md", r"""
    ## Failure cases (hybrid top-1 wrong)

    The query, the FAQ it should have found (and at which rank it came), and
    what came first instead, with the dense and keyword parts of the score.
    """),
    ("code", r"""
    failures = []
    for h, hs in zip(in_scope, hits["hybrid"], strict=True):
        if hs and hs[0].id != h.faq_id:
            ids = [x.id for x in hs]
            rank = ids.index(h.faq_id) + 1 if h.faq_id in ids else None
            failures.append((h, hs[0], rank))
    print(f"{len(failures)} of {len(in_scope)} held-out queries miss at top-1 (hybrid)")
    yeban_nb.show([(h.query, faqs[h.faq_id].question, rank or f">{K}", faqs[top.id].question,
                    round(top.score, 3), round(top.dense_score or 0, 3), round(top.keyword_score or 0, 3))
                   for h, top, rank in failures],
                  ["query", "expected FAQ", "its rank", "ranked first instead", "score", "dense", "kw"],
                  max_rows=25)
    """),
    ("code", r"""
    # Which tags fail most often (tag of the expected FAQ).
    from collections import Counter

    tag_total = Counter(faqs[g].tags[0] if faqs[g].tags else "(无)" for g in gold)
    tag_fail = Counter(faqs[h.faq_id].tags[0] if faqs[h.faq_id].tags else "(无)" for h, _, _ in failures)
    yeban_nb.show(sorted(((t, tag_total[t], tag_fail[t], round(tag_fail[t] / tag_total[t], 3)) for t in tag_total),
                         key=lambda r: (-r[2], r[0])),
                  ["tag", "queries", "top-1 misses", "miss rate"], max_rows=15)
    """),
    ("md", r"""
    ## Scores against the decision thresholds

    The service answers directly when the fused score of the best FAQ is at
    least `answer_threshold` and leads the runner-up by `answer_margin`, offers
    the top three between that and `clarify_threshold`, and falls back below.
    Eight out-of-scope questions (nothing in the FAQ answers them) show where
    unanswerable messages land.
    """),
    ("code", r"""
    OUT_OF_SCOPE = ["你们老板是谁", "今天天气怎么样", "帮我写一首诗", "火星上有快递吗",
                    "你喜欢什么电影", "股票明天涨不涨", "推荐一家川菜馆", "1+1等于几"]
    cfg = searcher.config
    top_right = [hs[0].score for hs, g in zip(hits["hybrid"], gold, strict=True) if hs and hs[0].id == g]
    top_wrong = [hs[0].score for hs, g in zip(hits["hybrid"], gold, strict=True) if hs and hs[0].id != g]
    oos_hits = [searcher.search(q, k=K, kind="faq", mode="hybrid") for q in OUT_OF_SCOPE]
    top_oos = [hs[0].score if hs else 0.0 for hs in oos_hits]

    decisions = Counter(searcher.decide(hs).kind for hs in hits["hybrid"])
    oos_decisions = Counter(searcher.decide(hs).kind for hs in oos_hits)
    yeban_nb.show([("held-out (in scope)", decisions["answer"], decisions["clarify"], decisions["fallback"]),
                   ("out of scope", oos_decisions["answer"], oos_decisions["clarify"], oos_decisions["fallback"])],
                  ["queries", "answer", "clarify", "fallback"])

    fig, ax = plt.subplots(figsize=(11, 4.5))
    every = top_right + top_wrong + top_oos
    bins = np.linspace(min(every + [cfg.clarify_threshold]) - 0.02, max(every) + 0.02, 41)
    ax.hist(top_right, bins=bins, alpha=0.7, label=f"top-1 正确（{len(top_right)}）", color="#55A868")
    ax.hist(top_wrong, bins=bins, alpha=0.7, label=f"top-1 错误（{len(top_wrong)}）", color="#C44E52")
    ax.hist(top_oos, bins=bins, alpha=0.9, label=f"域外问题（{len(top_oos)}）", color="#8172B3")
    for x, text in ((cfg.clarify_threshold, "澄清阈值"), (cfg.answer_threshold, "直接回答阈值")):
        ax.axvline(x, color="black", ls="--", lw=1)
        ax.text(x, ax.get_ylim()[1] * 0.98, f"{text} {x} ", fontsize=8, rotation=90, ha="right", va="top")
    ax.set_xlabel("混合检索最高分")
    ax.set_ylabel("问题数")
    ax.set_title("最高分分布与回答 / 澄清 / 兜底阈值")
    ax.legend()
    fig.tight_layout()
    ctx.save_fig(fig, "03_scores")
    plt.show()
    """),
    ("md", r"""
    ## The FAQ embedding space (PCA)

    Each point is one FAQ question embedded as a passage by the e5 encoder,
    projected to two dimensions with PCA and coloured by its first tag. Held-out
    queries that hybrid search misses are drawn as crosses next to the FAQ they
    should have matched (same colour), with a line to it.
    """),
    ("code", r"""
    from sklearn.decomposition import PCA

    entries = sorted(faqs.values(), key=lambda f: f.faq_id)
    vectors = encoder.encode_passages([f.question for f in entries])
    pca = PCA(n_components=2, random_state=0).fit(vectors)
    xy = pca.transform(vectors)
    tags = [f.tags[0] if f.tags else "(无)" for f in entries]
    top_tags = [t for t, _ in Counter(tags).most_common(11)]
    palette = plt.get_cmap("tab20")
    colour_of = {t: palette(i) for i, t in enumerate(top_tags)}
    other = (0.75, 0.75, 0.75, 1.0)

    fig, ax = plt.subplots(figsize=(12, 9))
    for tag in top_tags + ["其他"]:
        idx = [i for i, t in enumerate(tags) if (t == tag if tag != "其他" else t not in colour_of)]
        ax.scatter(xy[idx, 0], xy[idx, 1], s=28, color=colour_of.get(tag, other), label=f"{tag}（{len(idx)}）",
                   alpha=0.85, edgecolors="white", linewidths=0.5)
    position = {f.faq_id: xy[i] for i, f in enumerate(entries)}
    missed = failures[:20]
    if missed:
        q_xy = pca.transform(encoder.encode_queries([h.query for h, _, _ in missed]))
        for (h, _, _), (qx, qy) in zip(missed, q_xy, strict=True):
            gx, gy = position[h.faq_id]
            colour = colour_of.get(faqs[h.faq_id].tags[0] if faqs[h.faq_id].tags else "", other)
            ax.plot([qx, gx], [qy, gy], color=colour, lw=0.7, alpha=0.6)
            ax.scatter([qx], [qy], marker="x", s=40, color=colour)
    for i in range(0, len(entries), max(1, len(entries) // 25)):  # a few captions for orientation
        ax.annotate(entries[i].question[:12], xy[i], fontsize=7, alpha=0.7, xytext=(3, 3),
                    textcoords="offset points")
    ratio = pca.explained_variance_ratio_
    ax.set_xlabel(f"PC1（{ratio[0]:.1%}）")
    ax.set_ylabel(f"PC2（{ratio[1]:.1%}）")
    ax.set_title("FAQ 问题向量的 PCA 投影（按标签着色；× 为检索失败的留出问法）")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    ctx.save_fig(fig, "03_faq_pca")
    plt.show()
    """),
    ("code", r"""
    print("figures written:")
    for path in ctx.saved:
        print(" ", path)
    """),
]
