"""The widget and the consoles in headless Chromium against the real gunicorn server
(2 workers, Redis, Neo4j with the demo store, real models).

Expected facts are read from the graph, never typed in. Each test leaves a screenshot in
``var/test/screenshots/``.
"""

from __future__ import annotations

import http.client
import json
import re

import pytest

from graph.knowledge import GraphKnowledge

pytestmark = pytest.mark.slow
MOBILE = {"width": 375, "height": 740}
WAIT_MS = 20_000
APPLY_WAIT_MS = 120_000


def _api(server, method: str, path: str, token: str) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request(method, path, headers={"Authorization": f"Bearer {token}"})
        resp = conn.getresponse()
        body = json.loads(resp.read() or b"{}")
        assert resp.status == 200, body
        return body
    finally:
        conn.close()


@pytest.fixture(scope="module")
def kg(demo_graph, settings) -> GraphKnowledge:
    return GraphKnowledge(demo_graph, settings.neo4j_database)


def _page(browser, viewport: dict):
    page = browser.new_page()
    page.set_viewport_size(viewport)
    return page


def _open_widget(page, server):
    page.goto(server.base + "/demo")
    page.click(".yb-launcher")
    page.wait_for_selector(".yb-panel", state="visible")


def _say(page, text: str) -> None:
    """Type a message, send it and wait for the bot (or the silence of a hand-off)."""
    before = page.locator(".yb-msg").count()
    page.fill(".yb-input", text)
    page.click(".yb-send")
    page.wait_for_function("n => document.querySelectorAll('.yb-msg:not(.yb-typing)').length > n "
                           "&& !document.querySelector('.yb-typing')", arg=before, timeout=WAIT_MS)


def _last_bot(page) -> str:
    return page.locator(".yb-bot .yb-bubble").last.inner_text()


def _login(page, server, token: str, tab: str) -> None:
    page.goto(server.base + "/console#" + tab)
    page.fill("#token", token)
    page.click("#login-form button")
    page.wait_for_selector("#tabs:not([hidden])")


def test_shopper_conversation_with_a_tapped_clarification_on_a_phone(server, browser, kg, screenshots):
    page = _page(browser, MOBILE)
    _open_widget(page, server)
    box = page.locator(".yb-panel").bounding_box()
    assert box["width"] <= MOBILE["width"] and box["x"] >= 0  # the panel fills the phone's screen

    _say(page, "轻跑运动鞋有货吗")
    choices = page.locator(".yb-msg.yb-bot").last.locator("button.yb-choice")
    assert choices.count() >= 2
    labels = choices.all_inner_texts()
    wanted = next(i for i, label in enumerate(labels) if "轻跑4" in label)
    choices.nth(wanted).click()
    page.wait_for_function("() => !document.querySelector('.yb-typing') && "
                           "document.querySelectorAll('.yb-bot').length >= 3", timeout=WAIT_MS)
    answer = _last_bot(page)
    colours = kg.in_stock_values("P1106", "color")
    assert any(c in answer for c in colours), answer
    page.screenshot(path=str(screenshots / "widget-mobile-clarification.png"))

    # The session id survives a reload, and so does the conversation on screen.
    session = page.evaluate("window.yeban.sessionId()")
    shown = page.locator(".yb-msg").count()
    page.reload()
    page.wait_for_selector(".yb-panel", state="visible")
    assert page.evaluate("window.yeban.sessionId()") == session
    assert page.locator(".yb-msg").count() == shown
    _say(page, "它多少钱")  # the server still knows which shoe this is
    price = kg.product("P1106").price
    assert f"{price:g}" in _last_bot(page)
    _say(page, "阿巴阿巴咕噜咕噜")  # one the bot cannot answer, for the operators' board


def test_handoff_claimed_and_answered_in_the_console_reaches_the_widget(server, browser, screenshots):
    shopper = _page(browser, MOBILE)
    _open_widget(shopper, server)
    _say(shopper, "云裳碎花裙白底碎花M码还有几件")
    _say(shopper, "转人工")
    status = shopper.locator("[data-yb-status]")
    assert "转接人工客服" in status.inner_text()
    session = shopper.evaluate("window.yeban.sessionId()")

    agent = browser.new_page()
    _login(agent, server, server.agent_token, "agent")
    item = agent.locator(".qitem.status-queued").filter(has_text="转人工").first
    item.wait_for(timeout=WAIT_MS)  # pushed by the server-sent event stream
    assert "主动要求人工" in item.inner_text() and "已等待" in item.inner_text()
    item.click()
    agent.wait_for_selector("#ticket button.claim")
    agent.click("#ticket button.claim")
    agent.wait_for_selector("#ticket button.suggestion")
    ticket_text = agent.locator("#ticket").inner_text()
    assert "云裳" in ticket_text and "来源 product:P1002" in ticket_text  # linked product and sources
    shopper.wait_for_function("() => document.querySelector('[data-yb-status]').textContent.includes('已接入')",
                              timeout=WAIT_MS)

    agent.locator("#ticket button.suggestion").first.click()
    inserted = agent.input_value("#reply-text")
    assert inserted
    reply = inserted + "（客服小王为您确认过了）"
    agent.fill("#reply-text", reply)
    agent.click("#ticket button.send")
    shopper.locator(".yb-agent .yb-bubble").filter(has_text="客服小王为您确认过了").wait_for(timeout=WAIT_MS)
    assert shopper.locator(".yb-agent .yb-bubble").last.inner_text() == reply
    shopper.screenshot(path=str(screenshots / "widget-agent-reply.png"))

    # The shopper's next message appears in the agent's transcript (pushed, no reload).
    _say(shopper, "好的谢谢，那我下单了")
    agent.locator("#ticket .turn-shopper").filter(has_text="那我下单了").wait_for(timeout=WAIT_MS)
    agent.screenshot(path=str(screenshots / "console-agent-ticket.png"))

    # Close the loop: the answer becomes a pending FAQ change set.
    agent.click("#ticket button.faq")
    agent.wait_for_selector("#faq-dialog[open]")
    assert agent.input_value("#faq-answer") == reply
    agent.fill("#faq-question", "云裳碎花裙白底碎花M码的库存可以帮忙确认吗")
    agent.click("#faq-save")
    agent.wait_for_function("() => document.getElementById('toast').textContent.includes('等待运营审核')")
    cs_id = re.search(r"CS-[\w-]+", agent.inner_text("#toast")).group(0)
    proposed = _api(server, "GET", f"/v1/changesets/{cs_id}", server.operator_token)
    assert proposed["status"] == "pending" and proposed["changes"][0]["entity"] == "faq"

    agent.click("#ticket button.close")
    shopper.wait_for_function("() => document.querySelector('[data-yb-status]').textContent.includes('已结束')",
                              timeout=WAIT_MS)
    _say(shopper, "可以指定发顺丰吗")  # the bot answers again
    assert _last_bot(shopper)
    assert _api(server, "GET", f"/v1/sessions/{session}", server.agent_token)["state"] != "handoff"


def test_operator_reviews_and_applies_a_stock_change_then_the_widget_answers_it(server, browser, kg,
                                                                                 screenshots, tmp_path):
    (white_m,) = kg.variants("P1002", color="白底碎花", size="M")
    new_stock = white_m.stock + 7
    upload = tmp_path / "stock_update.csv"
    upload.write_text(f"sku,stock\n{white_m.sku},{new_stock}\n", encoding="utf-8")

    op = browser.new_page()
    _login(op, server, server.operator_token, "changes")
    op.set_input_files("#upload-file", str(upload))
    op.click("#upload-form button")
    row = op.locator("#diff tr.op-updated")
    row.wait_for(timeout=WAIT_MS)
    assert white_m.sku in row.inner_text()
    assert op.locator("#diff del").first.inner_text() == str(white_m.stock)
    assert op.locator("#diff ins").first.inner_text() == str(new_stock)
    op.screenshot(path=str(screenshots / "console-operator-diff.png"))
    cs_id = op.get_attribute("#diff", "data-changeset-id")
    op.click("#diff button.apply")  # the applying worker also rebuilds the FAQ and product index
    op.locator("#diff .badge").filter(has_text="已应用").wait_for(timeout=APPLY_WAIT_MS)
    op.locator(f'#changesets tr[data-changeset-id="{cs_id}"] .status').filter(has_text="已应用").wait_for()

    shopper = _page(browser, MOBILE)
    _open_widget(shopper, server)
    _say(shopper, "云裳碎花裙白底碎花M码还有几件")
    assert f"{new_stock} 件" in _last_bot(shopper)

    # Roll it back from the list; the widget gives the old figure again.
    op.click(f'#changesets tr[data-changeset-id="{cs_id}"] button.rollback')
    op.locator(f'#changesets tr[data-changeset-id="{cs_id}"] .status').filter(has_text="已回滚").wait_for(
        timeout=APPLY_WAIT_MS)
    _say(shopper, "云裳碎花裙白底碎花M码还有几件")
    assert f"{white_m.stock} 件" in _last_bot(shopper)

    # Try a question: reply, intent, entities and source on a throwaway session.
    op.click('#tabs button[data-tab="try"]')
    op.fill("#try-input", "云裳碎花裙白底碎花M码还有几件")
    op.click("#try-form button")
    op.locator("#try-result .facts").wait_for(timeout=WAIT_MS)
    result = op.inner_text("#try-result")
    assert f"{white_m.stock} 件" in result and "stock_check" in result and f"variant:{white_m.sku}" in result


def test_analytics_board_renders_the_traffic(server, browser, screenshots):
    op = _page(browser, {"width": 1280, "height": 1000})
    _login(op, server, server.operator_token, "board")
    op.locator("#chart-hours svg").wait_for(timeout=WAIT_MS)
    summary = _api(server, "GET", "/v1/analytics/summary", server.operator_token)
    bars = op.locator("#chart-hours rect.chart-bar")
    assert bars.count() == 24
    drawn = [int(v) for v in bars.evaluate_all("bs => bs.map(b => b.getAttribute('data-value'))")]
    assert sum(drawn) >= summary["messages"] > 0
    assert op.locator("#chart-hours rect.chart-band").count() >= 1  # the night band
    assert op.locator("#chart-topics rect.chart-bar").count() >= 3
    assert "主动要求人工" in op.inner_text("#chart-reasons")
    kpis = op.inner_text("#kpis")
    assert "消息数" in kpis and "延迟 p95" in kpis and "转人工率" in kpis
    cluster = op.locator("#clusters .cluster").filter(has_text="阿巴阿巴")
    cluster.wait_for(timeout=WAIT_MS)
    op.screenshot(path=str(screenshots / "console-analytics.png"), full_page=True)
    cluster.locator("button.to-faq").click()
    op.wait_for_selector("#faq-dialog[open]")
    assert "阿巴阿巴" in op.input_value("#faq-question")
    op.fill("#faq-answer", "这句话小夜暂时没看懂，请描述一下您想了解的商品或订单。")
    op.click("#faq-save")
    op.wait_for_function("() => document.getElementById('toast').textContent.includes('等待运营审核')")
