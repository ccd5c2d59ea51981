"""Cells of ``02_intent_model.ipynb``: how good the intent classifier is, and where it errs."""

NAME = "02_intent_model"

CELLS: list[tuple[str, str]] = [
    ("md", r"""
    # 02 · 意图识别模型 (intent model)

    The shopper-intent classifier of `retrieval.intent`, evaluated on the
    hand-written test set `data/nlu/intents_test.jsonl` (never used for
    training): accuracy and macro-F1, the confusion matrix, the most confused
    pairs with example utterances, accuracy by utterance length, and a
    reliability plot (is a confidence of 0.8 right 80 % of the time?).

    The classifier is loaded from `var/models/` or trained there on first use
    (`load_or_train`), with the e5 encoder from the project's settings.
    """),
    ("code", r"""
    import yeban_nb

    ctx = yeban_nb.connect()
    print("models:", ctx.settings.models_dir, "| unsure below confidence", ctx.settings.intent_threshold)
    """),
    ("md", r"""
    ## The data
    """),
    ("code", r"""
    from collections import Counter

    import matplotlib.pyplot as plt
    import numpy as np

    from schema.intents import load_taxonomy

    taxonomy = load_taxonomy()
    labels = [i.name for i in taxonomy]
    zh = {i.name: i.zh for i in taxonomy}
    train = yeban_nb.read_jsonl(ctx.settings.data_dir / "nlu" / "intents_train.jsonl")
    test = yeban_nb.read_jsonl(ctx.settings.data_dir / "nlu" / "intents_test.jsonl")
    n_train, n_test = Counter(r["intent"] for r in train), Counter(r["intent"] for r in test)
    assert set(n_train) <= set(labels) and set(n_test) <= set(labels), "data uses an intent missing from the taxonomy"
    print(f"{len(labels)} intents, {len(train)} training and {len(test)} test utterances")
    yeban_nb.show([(name, zh[name], n_train[name], n_test[name]) for name in labels],
                  ["intent", "中文", "train", "test"])

    fig, ax = plt.subplots(figsize=(13, 4.2))
    x = np.arange(len(labels))
    ax.bar(x - 0.2, [n_train[n] for n in labels], 0.4, label="训练集", color="#4C72B0")
    ax.bar(x + 0.2, [n_test[n] for n in labels], 0.4, label="测试集", color="#DD8452")
    ax.set_xticks(x, [zh[n] for n in labels], rotation=60, ha="right")
    ax.set_ylabel("条数")
    ax.set_title("每个意图的样本数")
    ax.set_ylim(0, max(n_train.values()) * 1.25)
    ax.legend(ncol=2, loc="upper right")
    fig.tight_layout()
    ctx.save_fig(fig, "02_class_balance")
    plt.show()
    """),
    ("md", r"""
    ## Train or load, then predict the test set
    """),
    ("code", r"""
    import time

    started = time.perf_counter()
    classifier = ctx.classifier()
    print(f"{classifier.method} classifier ready in {time.perf_counter() - started:.1f}s from {classifier.folder}")
    assert list(classifier.labels) == labels, "the model was trained on another taxonomy"

    texts = [r["text"] for r in test]
    gold = [r["intent"] for r in test]
    started = time.perf_counter()
    predictions = classifier.classify_batch(texts)
    elapsed = time.perf_counter() - started
    print(f"{len(texts)} predictions in {elapsed:.1f}s ({1000 * elapsed / len(texts):.1f} ms each)")
    pred = [p.intent for p in predictions]
    confidence = np.array([p.confidence for p in predictions])
    correct = np.array([p == g for p, g in zip(pred, gold, strict=True)])
    unsure = np.array([p.unsure for p in predictions])
    """),
    ("code", r"""
    from retrieval.nlu_metrics import classification_report, expected_calibration_error

    report = classification_report(gold, pred, labels)
    ece = expected_calibration_error(confidence, correct)
    print(f"accuracy {report.accuracy:.3f} | macro-F1 {report.macro_f1:.3f} | ECE {ece:.3f}")
    print(f"unsure (confidence < {ctx.settings.intent_threshold}): {unsure.mean():.1%} of messages; "
          f"accuracy on the rest {correct[~unsure].mean():.3f}, on the unsure ones "
          f"{correct[unsure].mean() if unsure.any() else float('nan'):.3f}")
    support = Counter(gold)
    yeban_nb.show(sorted(((n, zh[n], support[n], report.per_class_f1[n]) for n in labels), key=lambda r: r[3]),
                  ["intent", "中文", "test n", "F1"])
    """),
    ("md", r"""
    ## Confusion matrix

    Rows are the true intent, columns the predicted one; each row is normalised
    to 1 (the diagonal is the recall of that intent), and the cells show counts.
    """),
    ("code", r"""
    cm = np.array(report.confusion)
    row_share = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(13, 11))
    im = ax.imshow(row_share, cmap="Blues", vmin=0, vmax=1)
    names = [f"{zh[n]} {n}" for n in labels]
    ax.set_xticks(range(len(labels)), [zh[n] for n in labels], rotation=70, ha="right", fontsize=9)
    ax.set_yticks(range(len(labels)), names, fontsize=9)
    for i in range(len(labels)):
        for j in range(len(labels)):
            if cm[i, j]:
                ax.text(j, i, cm[i, j], ha="center", va="center", fontsize=7,
                        color="white" if row_share[i, j] > 0.5 else "#333333")
    ax.set_xlabel("预测意图")
    ax.set_ylabel("真实意图")
    ax.set_title(f"意图混淆矩阵（测试集 {report.n} 条，准确率 {report.accuracy:.1%}，macro-F1 {report.macro_f1:.3f}）")
    fig.colorbar(im, ax=ax, fraction=0.03, label="按行归一化")
    fig.tight_layout()
    ctx.save_fig(fig, "02_confusion")
    plt.show()
    """),
    ("md", r"""
    ## The most confused pairs, with example utterances
    """),
    ("code", r"""
    examples = {}
    for text, g, p, c in zip(texts, gold, pred, confidence, strict=True):
        if g != p:
            examples.setdefault((g, p), []).append((text, c))
    for g, p, n in report.worst_confusions[:10]:
        print(f"\n{zh[g]}（{g}） → 被判为 {zh[p]}（{p}）：{n} 条")
        for text, c in examples[(g, p)][:3]:
            print(f"    「{text}」  置信度 {c:.2f}")
    """),
    ("md", r"""
    ## Accuracy by utterance length

    Length in characters after stripping spaces. Very short messages
    (`发货没`, `退款`) carry the least evidence.
    """),
    ("code", r"""
    edges = [1, 4, 7, 10, 14, 20, 1000]
    lengths = np.array([len("".join(t.split())) for t in texts])
    rows, accs, ns, ticks = [], [], [], []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        mask = (lengths >= lo) & (lengths < hi)
        if not mask.any():
            continue
        tick = f"{lo}-{hi - 1}" if hi < 1000 else f"{lo}+"
        ticks.append(tick)
        accs.append(correct[mask].mean())
        ns.append(int(mask.sum()))
        rows.append((tick, int(mask.sum()), float(correct[mask].mean()), float(confidence[mask].mean())))
    yeban_nb.show(rows, ["chars", "n", "accuracy", "mean confidence"])

    fig, ax = plt.subplots(figsize=(9, 4.2))
    bars = ax.bar(ticks, accs, color="#4C72B0")
    for bar, n in zip(bars, ns, strict=True):
        ax.text(bar.get_x() + bar.get_width() / 2, bar.get_height(), f"n={n}", ha="center", va="bottom", fontsize=8)
    ax.axhline(report.accuracy, color="#C44E52", ls="--", lw=1, label=f"总体 {report.accuracy:.1%}")
    ax.set_ylim(0, 1.08)
    ax.set_xlabel("字数")
    ax.set_ylabel("准确率")
    ax.set_title("不同长度消息的意图识别准确率")
    ax.legend(loc="lower right")
    fig.tight_layout()
    ctx.save_fig(fig, "02_accuracy_by_length")
    plt.show()
    """),
    ("md", r"""
    ## Reliability: confidence against correctness

    Left: test messages binned by the classifier's confidence; a calibrated
    model's bars sit on the diagonal (ECE is the share-weighted gap). Right:
    what the unsure threshold buys: the share of messages answered
    (confidence ≥ threshold) against the accuracy on those.
    """),
    ("code", r"""
    n_bins = 10
    bin_of = np.minimum((confidence * n_bins).astype(int), n_bins - 1)
    centres = (np.arange(n_bins) + 0.5) / n_bins
    acc_bin = np.array([correct[bin_of == b].mean() if (bin_of == b).any() else np.nan for b in range(n_bins)])
    conf_bin = np.array([confidence[bin_of == b].mean() if (bin_of == b).any() else np.nan for b in range(n_bins)])
    count_bin = np.array([(bin_of == b).sum() for b in range(n_bins)])

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 5))
    ax1.bar(centres, np.nan_to_num(acc_bin), width=1 / n_bins, edgecolor="white", color="#4C72B0", label="实际准确率")
    ax1.plot([0, 1], [0, 1], color="#888888", ls="--", label="完美校准")
    ax1.scatter(conf_bin, acc_bin, color="#C44E52", zorder=3, s=18, label="该区间平均置信度")
    for c, a, n in zip(centres, acc_bin, count_bin, strict=True):
        if n:
            ax1.text(c, np.nan_to_num(a) + 0.02, str(n), ha="center", fontsize=7)
    ax1.set_xlim(0, 1)
    ax1.set_ylim(0, 1.08)
    ax1.set_xlabel("置信度")
    ax1.set_ylabel("准确率")
    ax1.set_title(f"可靠性图（ECE = {ece:.3f}，柱上数字为条数）")
    ax1.legend(loc="upper left", fontsize=8)

    thresholds = np.linspace(0, 0.99, 100)
    coverage = [(confidence >= t).mean() for t in thresholds]
    accuracy = [correct[confidence >= t].mean() if (confidence >= t).any() else np.nan for t in thresholds]
    ax2.plot(coverage, accuracy, color="#55A868")
    t0 = ctx.settings.intent_threshold
    kept = confidence >= t0
    ax2.scatter([kept.mean()], [correct[kept].mean()], color="#C44E52", zorder=3,
                label=f"当前阈值 {t0}：覆盖 {kept.mean():.1%}，准确率 {correct[kept].mean():.1%}")
    ax2.set_xlabel("覆盖率（置信度 ≥ 阈值的消息占比）")
    ax2.set_ylabel("覆盖部分的准确率")
    ax2.set_xlim(0, 1.02)
    ax2.set_title("阈值取舍：覆盖率 vs 准确率")
    ax2.grid(alpha=0.3)
    ax2.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    ctx.save_fig(fig, "02_reliability")
    plt.show()
    """),
    ("code", r"""
    # The most confident mistakes: candidates for relabelling or more training data.
    wrong = [(c, t, zh[g], zh[p]) for t, g, p, c in zip(texts, gold, pred, confidence, strict=True) if g != p]
    yeban_nb.show([(t, g, p, round(float(c), 3)) for c, t, g, p in sorted(wrong, reverse=True)[:15]],
                  ["utterance", "true", "predicted", "confidence"])
    """),
    ("code", r"""
    print("figures written:")
    for path in ctx.saved:
        print(" ", path)
    """),
]
