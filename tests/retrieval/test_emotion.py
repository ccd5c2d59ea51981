"""Anger scoring: the cue rules alone and combined with the e5 model."""

from __future__ import annotations

import pytest

from retrieval.emotion import HANDOFF_THRESHOLD, EmotionError, EmotionScorer, combine, load_emotion_data
from retrieval.emotion_rules import rule_score

CALM = ["请问这个有货吗", "投诉建议的入口在哪里", "垃圾袋有卖吗", "12315是管什么的"]
ANNOYED = ["怎么还没发货啊 都三天了", "无语了 客服回复太慢", "又要等 服了"]
FURIOUS = ["什么破东西 骗子！！我要投诉你们", "垃圾店 退钱！！！", "我要打12315 你们等着"]


@pytest.fixture(scope="module")
def scorer(encoder_settings, encoder) -> EmotionScorer:
    return EmotionScorer.load_or_train(encoder_settings, encoder)


def test_rules_find_cues_and_ignore_neutral_uses():
    for text in CALM:
        assert rule_score(text).score == 0.0, text
    r = rule_score("你们就是骗子！！我要投诉")
    assert r.score > 0.9 and "骗子" in r.cues and "！！" in r.cues
    assert rule_score("WHAT IS THIS 退钱").score > rule_score("退钱").score  # shouting
    assert rule_score("XXL 还有吗").score == 0.0  # sizes are not shouting


@pytest.mark.parametrize("group", [CALM, ANNOYED, FURIOUS])
def test_score_is_a_probability_like_number(scorer, group):
    for text in group:
        s = scorer.explain(text)
        assert 0.0 <= s.score <= 1.0 and 0.0 <= s.model <= 1.0


def test_calm_below_annoyed_below_furious(scorer):
    calm = max(scorer.score(t) for t in CALM)
    annoyed = [scorer.score(t) for t in ANNOYED]
    furious = min(scorer.score(t) for t in FURIOUS)
    assert calm < min(annoyed) and max(annoyed) < furious
    assert furious > HANDOFF_THRESHOLD and calm < HANDOFF_THRESHOLD
    assert scorer.explain(FURIOUS[0]).handoff and not scorer.explain(CALM[0]).handoff


def test_model_adds_what_rules_miss(scorer):
    # no cue word at all, still clearly furious for the model
    s = scorer.explain("你们还要不要脸 气得我手都在抖")
    assert s.rule < s.model and s.score >= s.model


def test_rules_only_scorer_and_combination():
    rules_only = EmotionScorer()
    assert rules_only.score("请问有货吗") == 0.0
    assert rules_only.explain("垃圾店 退钱！！！").model is None
    assert combine(0.5, 0.5) == pytest.approx(0.75) and combine(0.3, None) == 0.3


def test_bad_emotion_row_is_named(tmp_path):
    bad = tmp_path / "emotion.jsonl"
    bad.write_text('{"text": "a", "level": "calm", "angry": 0}\n{"text": "b", "level": "mad", "angry": 1}\n',
                   encoding="utf-8")
    with pytest.raises(EmotionError, match="emotion.jsonl:2"):
        load_emotion_data(bad)


PLEASANTRIES = ["哈喽", "哈喽亲", "哈喽哈喽", "嗨", "hello", "hi 在吗", "亲亲在不在呀", "在吗？？", "早上好 客服",
                "你好呀😊", "好的谢谢", "谢谢亲！！", "好滴 辛苦啦", "嗯嗯 知道了", "ok 拜拜", "88", "感谢感谢🙏"]


@pytest.mark.parametrize("text", PLEASANTRIES)
def test_greetings_and_thanks_never_score_as_anger(scorer, text):
    s = scorer.explain(text)
    assert not s.handoff and s.score <= 0.2, (text, s)


def test_pleasantry_rule_is_about_the_whole_message(scorer):
    assert rule_score("哈喽亲").pleasantry and rule_score("好的谢谢~").pleasantry
    assert not rule_score("你好 我要投诉你们！！").pleasantry
    assert scorer.explain("哈喽 你们这什么破服务 骗子！！").handoff  # a greeting does not hide anger
    assert combine(0.9, 0.9, pleasantry=True) <= 0.2


def test_angry_emoji_is_a_cue():
    assert rule_score("等了一周了😡").score > rule_score("等了一周了").score
    assert rule_score("好的😊").score == 0.0


# Option fragments, ordinals and keyboard noise that are NOT rows of emotion.jsonl:
# the calm fragments written there must carry over to ones the model never saw.
UNSEEN_FRAGMENTS = ["三人的", "厚的那款", "要红色的", "小号吧", "750的那个", "第四个", "zxcv", "黄的那个吧", "44码",
                    "2米的", "不锈钢的", "带滤网的"]


def test_unseen_fragments_never_score_as_anger(scorer, encoder_settings):
    rows = set(load_emotion_data(encoder_settings.data_dir / "nlu" / "emotion.jsonl").texts)
    assert not rows & set(UNSEEN_FRAGMENTS)  # held out from the training data
    for text in UNSEEN_FRAGMENTS:
        s = scorer.explain(text)
        assert s.score < 0.5 < HANDOFF_THRESHOLD, (text, s)
    # and a short insult still does (the rules and the model both see it)
    assert scorer.score("垃圾客服") > HANDOFF_THRESHOLD
