"""Promotion tiers and shipping terms parsed from clause text written for the test
(no store's wording), and the arithmetic on prices."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import pytest

from dialog.policies.promotion import Tier, exclusion_rule, named_in, parse_tiers, promotions, stacking_rule
from dialog.policies.purchase import quantity, shipping_terms
from schema.types import ClauseInfo

SH = timezone(timedelta(hours=8))


def clause(text: str, n: int = 1, policy: str = "PROMO-X", title: str = "春日焕新季活动规则") -> ClauseInfo:
    return ClauseInfo(f"{policy}#{n}", policy, title, text, n, datetime(2026, 3, 1, tzinfo=SH),
                      datetime(2026, 3, 31, tzinfo=SH))


def test_every_tier_repeats_and_respects_a_cap():
    tiers = parse_tiers(clause("活动期间全场每满300元减40元，最高减120元，可与店铺券叠加。"))
    assert tiers == [Tier(300, 40, every=True, cap=120, clause_id="PROMO-X#1")]
    assert tiers[0].discount(459) == 40        # 满300减40 on ¥459 -> ¥419
    assert tiers[0].discount(918) == 120       # three times 40, capped at 120
    assert tiers[0].discount(1500) == 120
    assert tiers[0].discount(299) == 0


def test_once_tiers_and_percent_tiers_pick_the_best():
    promo = promotions([clause("满399减50，满799减120。", 1), clause("单笔满500元打8.5折。", 2),
                        clause("清仓商品不参与本活动，不可与品类券同时使用。", 3)])[0]
    assert [t.label for t in promo.tiers] == ["满399减50", "满799减120", "满500打8.5折"]
    assert promo.best(459) == (promo.tiers[0], 50)
    tier, off = promo.best(900)
    assert tier.rate == pytest.approx(0.85) and off == pytest.approx(135)
    assert promo.next_tier(350).threshold == 399
    assert exclusion_rule(promo) == ["清仓商品不参与本活动"]
    assert stacking_rule(promo) == ["不可与品类券同时使用"]


def test_no_tier_means_no_promotion_and_every_is_not_read_twice():
    assert promotions([clause("退货后剩余商品不满足满减门槛的，扣除对应的满减优惠。")]) == []
    assert len(parse_tiers(clause("每满200减20"))) == 1


def test_a_named_promotion_is_recognised_by_its_title_or_tier():
    promo = promotions([clause("每满200减20")])[0]
    assert named_in("春日焕新季还有吗", promo)
    assert named_in("满200减20还能用吗", promo)
    assert not named_in("有优惠吗", promo)


def test_shipping_terms_fee_threshold_and_cut_off():
    terms = shipping_terms([clause("每天17:30前付款的订单当日发货，之后付款的次日发出。", 1, "SHIP"),
                            clause("订单满88元包邮，不满88元收取运费8元。", 2, "SHIP")])
    assert terms.cutoff == time(17, 30) and terms.free_over == 88 and terms.fee == 8
    assert quantity("买三件多少钱") == 3 and quantity("2双") == 2 and quantity("多少钱") == 1
