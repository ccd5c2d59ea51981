"""Cells of ``04_conversations.ipynb``: what shoppers ask, when, and what the bot could not answer."""

NAME = "04_conversations"

CELLS: list[tuple[str, str]] = [
    ("md", r"""
    # 04 · 会话分析 (conversations)

    Computed from the recorded conversation events (`dialog.events.SqliteEventLog`
    at the configured path, the file the API writes), never estimated:

    * the hot-topic board: intents by store-time hour,
    * the night-time (22:00–08:00) share and how the bot fares at night,
    * hand-off reasons,
    * the most frequent unanswered questions, and
    * suggested new FAQ entries from clusters of unanswered questions
      (e5 embeddings + agglomerative clustering), written as a change-set-ready
      FAQ file: `var/reports/notebooks/suggested_faq.jsonl`.

    When the event log is empty (a fresh checkout), the notebook first runs the
    scripted shopper sessions of `scripted_shoppers.jsonl` through the real
    dialogue engine (`dialog.factory.build_engine`) over one simulated day.
    """),
    ("code", r"""
    import yeban_nb

    ctx = yeban_nb.connect()
    from dialog.events import SqliteEventLog

    log = SqliteEventLog(ctx.settings.events_db)
    print("event log:", ctx.settings.events_db, "|", log.count(), "events recorded")
    """),
    ("md", r"""
    ## Generate events if there are none

    Each scripted session starts at its `at` time (store time) on the day before
    today and sends its messages 40 seconds apart. The engine is the one the API
    uses, with in-process session and hand-off stores and the configured agent
    hours, so night-time messages meet no human agent.
    """),
    ("code", r"""
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from dialog.analytics import STORE_TZ

    GENERATED = False
    if log.count() == 0:
        try:
            from dialog.factory import build_engine
        except ModuleNotFoundError as e:
            if e.name != "dialog.factory":
                raise
            raise RuntimeError("the event log is empty and dialog.factory.build_engine does not exist yet, "
                               "so there is nothing to analyse; record conversations through the API first") from e
        from dialog.agent_hours import AgentHours
        from dialog.handoff_queue import InMemoryHandoffQueue
        from dialog.session_store import InMemorySessionStore
        from graph.knowledge import GraphKnowledge
        from retrieval.index_build import build_index

        build_index(GraphKnowledge(ctx.driver, ctx.database), ctx.encoder(), ctx.settings.index_dir)
        tz = ZoneInfo(STORE_TZ)
        day = (datetime.now(tz) - timedelta(days=1)).date()
        # Simulated time, read by the engine for every message. Kept in UTC: the neo4j driver packs a
        # ZoneInfo-aware datetime parameter by calling ZoneInfo.utcoffset() on its own DateTime class,
        # which CPython's C zoneinfo misreads (python/cpython#125318) and can crash the process.
        clock_now = [datetime.now(UTC)]
        engine = build_engine(ctx.settings, ctx.driver, sessions=InMemorySessionStore(), handoffs=InMemoryHandoffQueue(),
                              events=log, agent_hours=AgentHours.parse(ctx.settings.agent_hours,
                                                                        ctx.settings.agent_timezone),
                              encoder=ctx.encoder(), classifier=ctx.classifier(), clock=lambda: clock_now[0])
        script = yeban_nb.read_jsonl(yeban_nb.PROJECT_ROOT / "notebooks" / "scripted_shoppers.jsonl")
        for session in script:
            hour, minute = map(int, session["at"].split(":"))
            start = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
            for i, message in enumerate(session["messages"]):
                clock_now[0] = (start + timedelta(seconds=40 * i)).astimezone(UTC)
                reply = engine.chat(f"nb-{session['session']}", message, channel="notebook")
                print(f"{clock_now[0].astimezone(tz):%H:%M} {message}  →  [{reply.intent} / {reply.state.value}] {reply.reply[:60]}")
        GENERATED = True
    print(log.count(), "events")
    """),
    ("md", r"""
    ## Summary
    """),
    ("code", r"""
    from dialog.analytics import NIGHT_END_HOUR, NIGHT_START_HOUR, is_night, summarize

    events = log.events()
    summary = summarize(events, top_n=30)
    yeban_nb.show([
        ("messages", summary.messages), ("sessions", summary.sessions),
        ("auto-resolution rate", summary.auto_resolution_rate), ("fallback rate", summary.fallback_rate),
        ("hand-offs", summary.handoffs), ("sessions handed off", summary.handoff_rate),
        ("night share (22:00-08:00)", summary.night_share),
        ("latency p50 ms", summary.latency_p50_ms), ("latency p95 ms", summary.latency_p95_ms),
    ], ["figure", "value"])
    """),
    ("md", r"""
    ## Hot-topic board by hour

    Messages per intent and store-time hour; the bar on top is the traffic per
    hour with the night hours shaded.
    """),
    ("code", r"""
    from collections import Counter, defaultdict

    import matplotlib.pyplot as plt
    import numpy as np

    from schema.intents import load_taxonomy

    zh = {i.name: i.zh for i in load_taxonomy()}
    tz = ZoneInfo(summary.timezone)
    by_intent_hour = defaultdict(lambda: np.zeros(24, dtype=int))
    for e in events:
        by_intent_hour[e.intent][e.at.astimezone(tz).hour] += 1
    top = [name for name, _ in Counter(summary.by_intent).most_common(12)]
    board = np.array([by_intent_hour[name] for name in top])

    fig, (ax0, ax1) = plt.subplots(2, 1, figsize=(14, 8), height_ratios=[1, 3], sharex=True)
    hours = np.arange(24)
    ax0.bar(hours, summary.by_hour, color=["#8172B3" if is_night(h) else "#4C72B0" for h in hours])
    ax0.set_ylabel("消息数")
    ax0.set_title(f"热点看板：各小时的咨询意图（紫色为夜间 {NIGHT_START_HOUR}:00–{NIGHT_END_HOUR:02d}:00，"
                  f"占 {summary.night_share:.0%}）")
    im = ax1.imshow(board, aspect="auto", cmap="YlOrRd")
    ax1.set_yticks(range(len(top)), [f"{zh.get(n, n)}" for n in top])
    ax1.set_xticks(hours, [f"{h:02d}" for h in hours])
    ax1.set_xlabel("时（门店时区）")
    for i in range(board.shape[0]):
        for j in range(24):
            if board[i, j]:
                ax1.text(j, i, board[i, j], ha="center", va="center", fontsize=7)
    fig.colorbar(im, ax=ax1, fraction=0.02, label="消息数")
    fig.tight_layout()
    ctx.save_fig(fig, "04_hot_topics")
    plt.show()
    """),
    ("md", r"""
    ## Night-time share

    How much of the traffic arrives while the store's agents are usually off,
    and whether the bot resolves night messages as well as day ones.
    """),
    ("code", r"""
    night = [e for e in events if is_night(e.at.astimezone(tz).hour)]
    day = [e for e in events if not is_night(e.at.astimezone(tz).hour)]

    def rates(items):
        n = len(items) or 1
        return (sum(e.resolved for e in items) / n, sum(e.fallback for e in items) / n,
                sum(bool(e.handoff_reason) for e in items) / n)

    rows = [("day (08:00-22:00)", len(day), *rates(day)), ("night (22:00-08:00)", len(night), *rates(night))]
    yeban_nb.show(rows, ["period", "messages", "resolved", "fallback", "hand-off"])

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.2))
    ax1.pie([len(day), len(night)], labels=[f"白天 {len(day)}", f"夜间 {len(night)}"], colors=["#4C72B0", "#8172B3"],
            autopct="%1.0f%%", startangle=90)
    ax1.set_title("消息的昼夜分布")
    names = ["自动解决", "兜底", "转人工"]
    x = np.arange(len(names))
    ax2.bar(x - 0.2, rates(day), 0.4, label="白天", color="#4C72B0")
    ax2.bar(x + 0.2, rates(night), 0.4, label="夜间", color="#8172B3")
    ax2.set_xticks(x, names)
    ax2.set_ylim(0, 1)
    ax2.set_title("白天与夜间的处理结果（占消息比例）")
    ax2.legend()
    fig.tight_layout()
    ctx.save_fig(fig, "04_night")
    plt.show()
    """),
    ("md", r"""
    ## Hand-off reasons
    """),
    ("code", r"""
    REASON_ZH = {"anger": "情绪激动", "explicit": "主动要求人工", "repeated_fallback": "多次未能回答",
                 "dispute": "纠纷 / 投诉"}
    reasons = summary.handoff_reasons
    yeban_nb.show([(r, REASON_ZH.get(r, r), n) for r, n in reasons.items()], ["reason", "说明", "hand-offs"])
    fig, ax = plt.subplots(figsize=(8, 3.6))
    if reasons:
        items = sorted(reasons.items(), key=lambda kv: kv[1])
        ax.barh([REASON_ZH.get(r, r) for r, _ in items], [n for _, n in items], color="#C44E52")
        for i, (_, n) in enumerate(items):
            ax.text(n, i, f" {n}", va="center")
    else:
        ax.text(0.5, 0.5, "没有转人工记录", ha="center", va="center", transform=ax.transAxes)
    ax.set_title(f"转人工原因（共 {summary.handoffs} 次，{summary.handoff_rate:.0%} 的会话）")
    fig.tight_layout()
    ctx.save_fig(fig, "04_handoff_reasons")
    plt.show()
    """),
    ("md", r"""
    ## The most frequent unanswered questions

    Messages that ended in a fallback or a hand-off, folded for counting
    (`dialog.analytics.normalise_question`: no punctuation, particles or long
    numbers).
    """),
    ("code", r"""
    yeban_nb.show([(q.text, q.count) for q in summary.top_unanswered], ["question (normalised)", "count"], max_rows=20)
    """),
    ("md", r"""
    ## Suggested new FAQ entries

    Candidates are the content questions the bot could not answer with
    confidence: a fallback, a clarification (it offered options instead of an
    answer) or an out-of-scope intent, but not hand-offs, chit-chat or the
    product and order questions the graph answers. They are embedded with the
    e5 encoder and grouped by agglomerative clustering (cosine distance,
    average linkage). e5 vectors share one large common direction (any two
    shopper questions have a cosine of 0.8–0.95), so they are first centred on
    the mean vector of the existing FAQ questions and paraphrases and
    re-normalised, which spreads related and unrelated questions apart. A group of at least two different messages becomes one
    suggested entry unless an existing FAQ question or paraphrase is already
    very close to it (then the FAQ exists and retrieval missed it): its most
    central message is the question, the others its paraphrases. Answers are
    left for the operators to write; the file is in the ingest FAQ format,
    validated here with the ingest package, and goes live only through a
    reviewed change set:

        python -m ingest changeset create var/reports/notebooks/suggested_faq.jsonl --kind faq --author <you>
    """),
    ("code", r"""
    from sklearn.cluster import AgglomerativeClustering

    from dialog.analytics import normalise_question
    from graph.knowledge import GraphKnowledge

    DISTANCE = 0.55   # cosine distance (centred vectors) at which groups stop merging
    KNOWN_FAQ = 0.65  # centred similarity to an existing FAQ question or paraphrase that counts as covered
    NOT_FAQ = {"human_agent", "complaint", "greeting", "goodbye", "product_attribute", "stock_check",
               "size_advice", "order_status", "change_address", "cancel_order"}
    candidates = [e for e in events
                  if (e.fallback or e.state == "clarify" or (e.intent == "out_of_scope" and not e.resolved))
                  and not e.handoff_reason and e.intent not in NOT_FAQ]
    messages = list(dict.fromkeys(e.message.strip() for e in candidates if len(normalise_question(e.message)) >= 3))
    print(len(candidates), "candidate events,", len(messages), "distinct messages")
    yeban_nb.show([(e.message, e.intent, e.state, "yes" if e.fallback else "") for e in candidates],
                  ["message", "intent", "state", "fallback"], max_rows=40)

    encoder = ctx.encoder()
    faqs = GraphKnowledge(ctx.driver, ctx.database).all_faq()
    faq_rows = [(f, text) for f in faqs for text in (f.question, *f.paraphrases)]
    raw_faq = encoder.encode_queries([text for _, text in faq_rows])
    mean = raw_faq.mean(axis=0)

    def centred(x):
        x = x - mean
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    faq_vectors = centred(raw_faq)
    vectors = centred(encoder.encode_queries(messages)) if messages else np.zeros((0, encoder.dim), dtype=np.float32)
    if len(messages) >= 2:
        labels = AgglomerativeClustering(n_clusters=None, distance_threshold=DISTANCE, metric="cosine",
                                         linkage="average").fit_predict(vectors)
    else:
        labels = np.zeros(len(messages), dtype=int)
    clusters = defaultdict(list)
    for i, label in enumerate(labels):
        clusters[label].append(i)
    """),
    ("code", r"""
    from schema.records import FAQRecord

    suggestions, covered = [], []
    for members in sorted(clusters.values(), key=len, reverse=True):
        if len(members) < 2:
            continue
        centre = vectors[members].mean(axis=0)
        centre /= np.linalg.norm(centre)
        medoid = max(members, key=lambda i: float(vectors[i] @ centre))
        sims = faq_vectors @ centre
        nearest = faq_rows[int(np.argmax(sims))][0]
        texts = [messages[i] for i in sorted(members, key=lambda i: -float(vectors[i] @ centre))]
        if float(sims.max()) >= KNOWN_FAQ:
            covered.append((texts[0], len(texts), nearest.question))
            continue
        suggestions.append(FAQRecord(
            faq_id=f"FAQ-SUGGEST-{len(suggestions) + 1:03d}",
            question=messages[medoid],
            answer="（待运营填写答案）",
            paraphrases=[t for t in texts if t != messages[medoid]],
            tags=["待审核"] + list(nearest.tags[:1]),
        ))

    for s in suggestions:
        print(f"{s.faq_id}  {s.question}   ← {len(s.paraphrases)} more: {'；'.join(s.paraphrases)}")
    if covered:
        print("\nclusters an existing FAQ already covers (a retrieval miss, not missing content):")
        yeban_nb.show(covered, ["message", "size", "nearest FAQ"])
    """),
    ("code", r"""
    from ingest.loader import prepare

    path = ctx.figures_dir / "suggested_faq.jsonl"
    n = yeban_nb.write_jsonl(path, (s.model_dump(mode="json", exclude_none=True) for s in suggestions))
    print(f"wrote {n} suggested FAQ entries to {path}")
    if n:
        checked = prepare(ctx.driver, ctx.database, [path], kind="faq",
                          salt=ctx.settings.phone_hash_salt.get_secret_value(), prune=False)
        assert not checked.validated.issues, checked.validated.issues
        print("ingest validation: OK,", len(checked.validated.issues), "issues")
    """),
    ("code", r"""
    from sklearn.decomposition import PCA

    fig, ax = plt.subplots(figsize=(12, 8))
    if len(messages) >= 3:
        xy = PCA(n_components=2, random_state=0).fit_transform(vectors)
        suggested = {m for s in suggestions for m in [s.question, *s.paraphrases]}
        palette = plt.get_cmap("tab10")
        colour_of = {}
        for label, members in clusters.items():
            if len(members) >= 2 and messages[members[0]] in suggested:
                colour_of[label] = palette(len(colour_of) % 10)
        for i, (x, y) in enumerate(xy):
            colour = colour_of.get(labels[i], (0.7, 0.7, 0.7, 1.0))
            ax.scatter([x], [y], color=colour, s=50 if labels[i] in colour_of else 20)
            ax.annotate(messages[i][:14], (x, y), fontsize=8, xytext=(4, 2), textcoords="offset points",
                        color="black" if labels[i] in colour_of else "#888888")
    else:
        ax.text(0.5, 0.5, "未回答的问题太少", ha="center", va="center", transform=ax.transAxes)
    ax.set_title(f"未回答问题的聚类（彩色 = 建议新增的 {len(suggestions)} 条 FAQ，灰色 = 单独出现或已有 FAQ 覆盖）")
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    ctx.save_fig(fig, "04_unanswered_clusters")
    plt.show()
    """),
    ("code", r"""
    print("figures and files written:")
    for path in [*ctx.saved, ctx.figures_dir / "suggested_faq.jsonl"]:
        print(" ", path)
    """),
]
