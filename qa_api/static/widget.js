/* yeban chat widget. One tag on any page:
 *   <script src="https://host/widget.js" data-yeban="https://host"></script>
 * adds a chat button and panel. The conversation's session id (issued by the server)
 * and the messages shown are kept in localStorage, so a reload continues the chat.
 * During a hand-off the widget listens to /v1/chat/stream for the agent's messages.
 * No dependencies, no external assets: the stylesheet comes from the same server. */
(function () {
  "use strict";
  if (window.__yebanWidget) return;
  window.__yebanWidget = true;

  var script = document.currentScript ||
    document.querySelector("script[data-yeban]") || document.querySelector('script[src*="widget.js"]');
  var BASE = ((script && script.getAttribute("data-yeban")) ||
    (script && script.src ? new URL(script.src).origin : location.origin)).replace(/\/+$/, "");
  var KEY = "yeban:" + BASE + ":";
  var MAX_LOG = 60;

  // --- storage ------------------------------------------------------------------
  function load(name, fallback) {
    try { var v = localStorage.getItem(KEY + name); return v === null ? fallback : JSON.parse(v); }
    catch (e) { return fallback; }
  }
  function save(name, value) {
    try { localStorage.setItem(KEY + name, JSON.stringify(value)); } catch (e) { /* private mode */ }
  }
  function randomId() {
    var bytes = new Uint8Array(16);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    return "w-" + Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  var state = {
    session: load("session", null),      // the id the server issued (or the first one used)
    log: load("log", []),                // [{role, text, ...}] as shown
    seenAgent: load("seenAgent", {}),    // agent messages already shown, by at+text
    handoff: load("handoff", null),      // {ticket_id, status, agent_available, reply_expected, agent}
    open: load("open", false)
  };

  // --- DOM helpers ------------------------------------------------------------------
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }
  function price(value) {
    if (value === null || value === undefined || value === "") return "";
    var n = Number(value);
    return "¥" + (Math.round(n * 100) / 100).toString();
  }

  var css = el("link");
  css.rel = "stylesheet";
  css.href = BASE + "/static/widget.css";
  document.head.appendChild(css);

  var root = el("div", "yb-root");
  root.setAttribute("data-yeban-widget", "");
  var launcher = el("button", "yb-launcher");
  launcher.type = "button";
  launcher.setAttribute("aria-label", "打开在线客服");
  launcher.innerHTML = '<svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true"><path fill="currentColor" d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/></svg>';
  launcher.appendChild(el("span", "yb-launcher-text", "在线客服"));

  var panel = el("section", "yb-panel");
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", "在线客服");
  var header = el("header", "yb-header");
  header.appendChild(el("div", "yb-title", "夜班客服 · 24 小时为您服务"));
  var closeBtn = el("button", "yb-close", "×");
  closeBtn.type = "button";
  closeBtn.setAttribute("aria-label", "关闭");
  header.appendChild(closeBtn);
  var status = el("div", "yb-status");
  status.setAttribute("data-yb-status", "");
  var list = el("div", "yb-messages");
  list.setAttribute("aria-live", "polite");
  var form = el("form", "yb-form");
  var input = el("input", "yb-input");
  input.type = "text";
  input.maxLength = 500;
  input.placeholder = "请输入您的问题，例如：这款裙子M码还有货吗";
  input.setAttribute("aria-label", "输入消息");
  var send = el("button", "yb-send", "发送");
  send.type = "submit";
  form.appendChild(input);
  form.appendChild(send);
  panel.appendChild(header);
  panel.appendChild(status);
  panel.appendChild(list);
  panel.appendChild(form);
  root.appendChild(panel);
  root.appendChild(launcher);

  function setOpen(open) {
    state.open = open;
    save("open", open);
    root.classList.toggle("yb-is-open", open);
    if (open) {
      if (!state.log.length) addMessage({ role: "bot", text: "您好，我是夜班智能客服小夜，商品、库存、订单、售后都可以问我哦～" });
      setTimeout(function () { input.focus(); list.scrollTop = list.scrollHeight; }, 0);
    }
  }
  launcher.addEventListener("click", function () { setOpen(!state.open); });
  closeBtn.addEventListener("click", function () { setOpen(false); });

  // --- rendering ----------------------------------------------------------------------
  function renderRating(row, m) {
    if (m.rated) { row.appendChild(el("div", "yb-bubble", "感谢您的评价！")); return; }
    row.appendChild(el("div", "yb-bubble", "请为本次人工服务打个分吧："));
    var stars = el("div", "yb-buttons yb-stars");
    [1, 2, 3, 4, 5].forEach(function (n) {
      var b = el("button", "yb-star", n + " 星");
      b.type = "button";
      b.setAttribute("aria-label", n + " 星");
      b.addEventListener("click", function () {
        post("/v1/sessions/" + encodeURIComponent(state.session) + "/rating", { score: n }).then(function () {
          m.rated = n;
          save("log", state.log);
          row.textContent = "";
          renderRating(row, m);
        }).catch(function () { b.disabled = true; });
      });
      stars.appendChild(b);
    });
    row.appendChild(stars);
  }

  function renderMessage(m) {
    var row = el("div", "yb-msg yb-" + m.role);
    if (m.role === "rate") { renderRating(row, m); list.appendChild(row); list.scrollTop = list.scrollHeight; return; }
    if (m.role === "agent") row.appendChild(el("div", "yb-who", m.agent ? "人工客服 " + m.agent : "人工客服"));
    if (m.text) row.appendChild(el("div", "yb-bubble", m.text));
    if (m.products && m.products.length) {
      var cards = el("div", "yb-cards");
      m.products.forEach(function (p) {
        var card = el(p.url ? "a" : "div", "yb-card");
        if (p.url) { card.href = p.url; card.target = "_blank"; card.rel = "noopener"; }
        card.setAttribute("data-product-id", p.product_id || "");
        card.appendChild(el("div", "yb-card-name", p.name || p.product_id));
        var line = el("div", "yb-card-line");
        line.appendChild(el("span", "yb-card-price", p.from_price ? price(p.from_price) + " 起" : price(p.price)));
        var stock = Number(p.stock);
        line.appendChild(el("span", "yb-card-stock " + (stock > 0 ? "yb-in" : "yb-out"),
          p.stock === null || p.stock === undefined ? "" : (stock > 0 ? "有货 " + stock + " 件" : "暂时缺货")));
        card.appendChild(line);
        cards.appendChild(card);
      });
      row.appendChild(cards);
    }
    var buttons = [];
    (m.suggestions || []).forEach(function (s, i) {
      buttons.push({ label: (i + 1) + ". " + s, cls: "yb-choice", send: String(i + 1), shown: s });
    });
    (m.actions || []).forEach(function (a) { buttons.push({ label: a.label, cls: "yb-action", action: a }); });
    if (buttons.length) {
      var box = el("div", "yb-buttons");
      buttons.forEach(function (b) {
        var btn = el("button", b.cls, b.label);
        btn.type = "button";
        btn.addEventListener("click", function () {
          if (b.action) return runAction(b.action);
          sendMessage(b.send, b.shown);
        });
        box.appendChild(btn);
      });
      row.appendChild(box);
    }
    list.appendChild(row);
    list.scrollTop = list.scrollHeight;
  }

  function addMessage(m) {
    state.log.push(m);
    if (state.log.length > MAX_LOG) state.log = state.log.slice(-MAX_LOG);
    save("log", state.log);
    renderMessage(m);
  }

  function runAction(a) {
    if (a.type === "open_product" && a.url) {
      window.open(a.url, "_blank", "noopener");
      return;
    }
    if (a.type === "add_to_cart") {
      var detail = { product_id: a.product_id || null, sku: a.sku || null, url: a.url || null };
      var handled = !window.dispatchEvent(new CustomEvent("yeban:add_to_cart", { detail: detail, cancelable: true }));
      if (!handled && a.url) { window.open(a.url, "_blank", "noopener"); return; }
      addMessage({ role: "note", text: "已为您加入购物车" + (a.sku ? "（" + a.sku + "）" : "") });
      return;
    }
    if (a.url) window.open(a.url, "_blank", "noopener");
  }

  function renderStatus() {
    var h = state.handoff;
    status.className = "yb-status";
    status.textContent = "";
    if (!h) return;
    if (h.ended) {
      status.classList.add("yb-status-ended");
      status.textContent = "人工服务已结束，智能客服小夜继续为您服务";
      return;
    }
    if (h.status === "claimed") {
      status.classList.add("yb-status-joined");
      status.textContent = "人工客服" + (h.agent ? " " + h.agent : "") + " 已接入，正在为您服务";
    } else if (h.waiting || h.agent_available === false) {
      status.classList.add("yb-status-after");
      status.textContent = "现在是非工作时间，已为您留言" + (h.reply_expected ? "：" + h.reply_expected : "，客服上班后会第一时间回复您");
    } else {
      status.classList.add("yb-status-waiting");
      status.textContent = "正在为您转接人工客服，请稍候…";
    }
  }

  function setHandoff(h) {
    state.handoff = h;
    save("handoff", h);
    renderStatus();
  }

  // --- talking to the server ------------------------------------------------------------
  function post(path, body) {
    return fetch(BASE + path, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) throw new Error((data.error && data.error.message) || ("HTTP " + r.status));
        return data;
      });
    });
  }

  var busy = false;
  function sendMessage(text, shown) {
    text = (text || "").trim();
    if (!text || busy) return;
    busy = true;
    send.disabled = true;
    addMessage({ role: "shopper", text: shown || text });
    if (!state.session) { state.session = randomId(); save("session", state.session); }
    var typing = el("div", "yb-msg yb-bot yb-typing");
    typing.appendChild(el("div", "yb-bubble", "小夜正在输入…"));
    list.appendChild(typing);
    list.scrollTop = list.scrollHeight;
    post("/v1/chat", { session_id: state.session, message: text, channel: "web" }).then(function (r) {
      typing.remove();
      handleReply(r);
    }).catch(function (e) {
      typing.remove();
      addMessage({ role: "note", text: "网络开小差了，请稍后再试（" + e.message + "）" });
    }).then(function () { busy = false; send.disabled = false; input.focus(); });
  }

  function handleReply(r) {
    if (r.session_id && r.session_id !== state.session) { state.session = r.session_id; save("session", r.session_id); }
    if (r.reply || (r.products && r.products.length) || (r.actions && r.actions.length)) {
      addMessage({ role: "bot", text: r.reply, suggestions: r.suggestions || [], products: r.products || [],
        actions: r.actions || [] });
    }
    if (r.state === "handoff" || r.handoff) {
      var h = state.handoff && !state.handoff.ended ? state.handoff : {};
      if (r.handoff) {
        h.ticket_id = r.handoff.ticket_id;
        h.agent_available = r.handoff.agent_available;
        h.status = h.status || "queued";
      }
      h.ended = false;
      setHandoff(h);
      listen();
    }
    // A reply without hand-off info does not end one (after hours the bot keeps answering while the
    // ticket waits for the morning): the stream says when it is over.
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var text = input.value;
    input.value = "";
    sendMessage(text);
  });

  // --- live events during a hand-off (server-sent events over fetch) ---------------------------
  var listening = false;
  function onEvent(name, data) {
    if (name === "agent") {
      (data.turns || []).forEach(function (t) {
        var key = t.at + "|" + t.text;
        if (state.seenAgent[key]) return;
        state.seenAgent[key] = 1;
        save("seenAgent", state.seenAgent);
        addMessage({ role: "agent", text: t.text, agent: state.handoff && state.handoff.agent });
      });
    } else if (name === "state") {
      if (data.in_handoff && data.handoff) {
        setHandoff({ ticket_id: data.handoff.ticket_id, status: data.handoff.status, agent: data.handoff.agent,
          waiting: !!data.handoff.waiting, agent_available: data.agent_available,
          reply_expected: data.reply_expected, ended: false });
      } else if (state.handoff && !state.handoff.ended && data.state !== "unknown") {
        var served = state.handoff.status === "claimed";
        setHandoff({ ended: true });
        if (served) addMessage({ role: "rate" });
      }
    }
  }

  function readStream(response) {
    var reader = response.body.getReader();
    var decoder = new TextDecoder();
    var buffer = "";
    function pump() {
      return reader.read().then(function (chunk) {
        if (chunk.done) return;
        buffer += decoder.decode(chunk.value, { stream: true });
        var frames = buffer.split("\n\n");
        buffer = frames.pop();
        frames.forEach(function (frame) {
          var name = "message", data = "";
          frame.split("\n").forEach(function (line) {
            if (line.indexOf("event:") === 0) name = line.slice(6).trim();
            else if (line.indexOf("data:") === 0) data += line.slice(5).trim();
          });
          if (data) { try { onEvent(name, JSON.parse(data)); } catch (e) { /* a torn frame */ } }
        });
        return pump();
      });
    }
    return pump();
  }

  function listen() {
    if (listening || !state.session) return;
    listening = true;
    fetch(BASE + "/v1/chat/stream", { headers: { "X-Yeban-Session": state.session }, cache: "no-store" })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return readStream(r);
      })
      .then(function () { return state.handoff && state.handoff.waiting ? 60000 : 300; },
        function () { return 3000; })
      .then(function (delay) {
        listening = false;
        if (state.handoff && !state.handoff.ended) setTimeout(listen, delay);
      });
  }

  // --- start --------------------------------------------------------------------------------------
  function start() {
    document.body.appendChild(root);
    state.log.forEach(renderMessage);
    renderStatus();
    setOpen(!!state.open);
    if (state.handoff && !state.handoff.ended) listen();
  }
  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);

  window.yeban = {
    open: function () { setOpen(true); },
    send: function (text) { setOpen(true); sendMessage(text); },
    sessionId: function () { return state.session; }
  };
})();
