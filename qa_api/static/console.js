/* yeban console: agents (live hand-off queue, claim, transcript, suggested replies,
 * reply, close, save an answer as FAQ) and operators (change sets, try a question,
 * analytics). Talks only to this server's JSON API with the bearer token typed at
 * login (kept in sessionStorage, sent as an Authorization header, never in a URL). */
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var INTENTS = JSON.parse($("intent-labels").textContent || "{}");
  var NIGHT_START = Number(document.body.dataset.nightStart), NIGHT_END = Number(document.body.dataset.nightEnd);
  var REASONS = { anger: "情绪激动", explicit: "主动要求人工", repeated_fallback: "多次未能回答", dispute: "纠纷/投诉",
    after_hours: "非工作时间留言" };
  var STATUS = { queued: "排队中", claimed: "处理中", closed: "已结束", pending: "待审核", applied: "已应用",
    rolled_back: "已回滚", discarded: "已放弃" };
  var PRIORITY = { 0: "紧急", 1: "售前", 2: "一般" };  // lower is more urgent
  var OPS = { created: "新增", updated: "修改", deleted: "删除" };
  var ROLE_NAMES = { agent: "客服", operator: "运营", admin: "管理员" };
  var TOKEN_KEY = "yeban:console-token";
  var me = null, token = sessionStorage.getItem(TOKEN_KEY);

  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined && text !== null) n.textContent = String(text);
    return n;
  }
  function button(label, onClick, cls) {
    var b = el("button", cls, label);
    b.type = "button";
    b.addEventListener("click", onClick);
    return b;
  }
  function intentLabel(name) { return name ? (INTENTS[name] ? INTENTS[name] + "（" + name + "）" : name) : "—"; }
  function pct(x) { return x === null || x === undefined ? "—" : (Math.round(x * 1000) / 10) + "%"; }
  function ms(x) { return x === null || x === undefined ? "—" : Math.round(x) + " ms"; }
  function time(iso) { return iso ? new Date(iso).toLocaleString("zh-CN", { hour12: false }) : ""; }
  function waited(iso) {
    var s = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
    if (s < 60) return s + " 秒";
    if (s < 3600) return Math.floor(s / 60) + " 分 " + (s % 60) + " 秒";
    return Math.floor(s / 3600) + " 小时 " + Math.floor((s % 3600) / 60) + " 分";
  }
  function toast(text, bad) {
    var t = $("toast");
    t.textContent = text;
    t.className = bad ? "show bad" : "show";
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { t.className = ""; }, 3500);
  }

  function api(method, path, body) {
    var opts = { method: method, headers: { Authorization: "Bearer " + token } };
    if (body instanceof FormData) opts.body = body;
    else if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
    return fetch(path, opts).then(function (r) {
      return r.text().then(function (text) {
        var data = text ? JSON.parse(text) : {};
        if (!r.ok) {
          var err = new Error((data.error && data.error.message) || ("HTTP " + r.status));
          err.status = r.status; err.body = data;
          throw err;
        }
        return data;
      });
    });
  }

  /* Server-sent events over fetch (so the token travels in a header), reconnecting. */
  function stream(path, onEvent, onState) {
    var stopped = false;
    function connect() {
      if (stopped) return;
      fetch(path, { headers: { Authorization: "Bearer " + token }, cache: "no-store" }).then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        onState(true);
        var reader = r.body.getReader(), decoder = new TextDecoder(), buffer = "";
        function pump() {
          return reader.read().then(function (chunk) {
            if (chunk.done || stopped) return;
            buffer += decoder.decode(chunk.value, { stream: true });
            var frames = buffer.split("\n\n");
            buffer = frames.pop();
            frames.forEach(function (f) {
              var name = "message", data = "";
              f.split("\n").forEach(function (line) {
                if (line.indexOf("event:") === 0) name = line.slice(6).trim();
                else if (line.indexOf("data:") === 0) data += line.slice(5).trim();
              });
              if (data) onEvent(name, JSON.parse(data));
            });
            return pump();
          });
        }
        return pump();
      }).then(function () { setTimeout(connect, 200); }, function () { onState(false); setTimeout(connect, 3000); });
    }
    connect();
    return function () { stopped = true; };
  }

  // --- login and tabs ------------------------------------------------------------------------
  function showTab(name) {
    document.querySelectorAll(".tab").forEach(function (t) { t.hidden = t.id !== "tab-" + name; });
    document.querySelectorAll("#tabs button").forEach(function (b) { b.classList.toggle("active", b.dataset.tab === name); });
    if (name === "agent") startQueue();
    if (name === "changes") loadChangeSets();
    if (name === "board") loadBoard();
  }
  function allowed(roles) { return me && (me.role === "admin" || roles.split(",").indexOf(me.role) >= 0); }

  function enter(identity) {
    me = identity;
    $("login").hidden = true;
    $("tabs").hidden = false;
    var first = null;
    document.querySelectorAll("#tabs button").forEach(function (b) {
      b.hidden = !allowed(b.dataset.roles);
      if (!b.hidden && !first) first = b.dataset.tab;
    });
    var who = $("whoami");
    who.textContent = (ROLE_NAMES[me.role] || me.role) + " " + me.name + " ";
    who.appendChild(button("退出", function () { sessionStorage.removeItem(TOKEN_KEY); location.reload(); }, "link"));
    var want = location.hash.slice(1);
    var wanted = want && $("tabs").querySelector('[data-tab="' + want + '"]');
    showTab(wanted && !wanted.hidden ? want : first);
  }
  document.querySelectorAll("#tabs button").forEach(function (b) {
    b.addEventListener("click", function () { location.hash = b.dataset.tab; showTab(b.dataset.tab); });
  });
  $("login-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    token = $("token").value.trim();
    api("GET", "/v1/console/me").then(function (identity) {
      sessionStorage.setItem(TOKEN_KEY, token);
      $("login-error").textContent = "";
      enter(identity);
    }).catch(function (e) { $("login-error").textContent = "登录失败：" + e.message; });
  });

  // --- agents: the live queue ------------------------------------------------------------------
  var queue = [], selected = null, selectedTurns = -1, stopQueue = null;
  function startQueue() {
    if (stopQueue) return;
    stopQueue = stream("/v1/console/events", function (name, data) {
      if (name !== "queue") return;
      queue = data.tickets;
      renderQueue();
      var current = queue.filter(function (t) { return t.ticket_id === selected; })[0];
      if (current && (current.turns !== selectedTurns || current.status !== selectedStatus)) openTicket(selected);
    }, function (up) {
      $("queue-live").textContent = up ? "实时" : "重连中…";
      $("queue-live").className = up ? "live up" : "live";
    });
  }
  function renderQueue() {
    var ul = $("queue");
    ul.textContent = "";
    if (!queue.length) { ul.appendChild(el("li", "muted", "暂无需要人工处理的会话")); return; }
    queue.forEach(function (t) {
      var li = el("li", "qitem status-" + t.status + (t.ticket_id === selected ? " selected" : ""));
      li.dataset.ticketId = t.ticket_id;
      var head = el("div", "qhead");
      head.appendChild(el("span", "prio prio-" + Math.min(t.priority, 2), PRIORITY[t.priority] || "P" + t.priority));
      head.appendChild(el("span", "reason", REASONS[t.reason] || t.reason));
      if (t.waiting) head.appendChild(el("span", "night", "夜间留言"));
      if (t.callback) head.appendChild(el("span", "night", "待回电"));
      head.appendChild(el("span", "badge", STATUS[t.status] || t.status));
      li.appendChild(head);
      li.appendChild(el("div", "qlast", t.last_message || "（无消息）"));
      var meta = el("div", "qmeta");
      var wait = el("span", "wait", t.status === "closed" ? "" : "已等待 " + waited(t.created_at));
      wait.dataset.since = t.created_at;
      meta.appendChild(wait);
      if (t.claimed_by) meta.appendChild(el("span", "", " · " + t.claimed_by));
      li.appendChild(meta);
      li.addEventListener("click", function () { openTicket(t.ticket_id); });
      ul.appendChild(li);
    });
  }
  setInterval(function () {
    document.querySelectorAll(".qitem:not(.status-closed) .wait").forEach(function (w) {
      w.textContent = "已等待 " + waited(w.dataset.since);
    });
  }, 1000);

  var selectedStatus = null, draft = "";
  function openTicket(id) {
    var box = $("ticket");
    var reply = $("reply-text");
    if (reply && selected === id) draft = reply.value;
    else if (selected !== id) draft = "";
    selected = id;
    renderQueue();
    api("GET", "/v1/console/tickets/" + encodeURIComponent(id)).then(function (data) {
      selectedTurns = data.ticket.transcript.length;
      selectedStatus = data.ticket.status;
      renderTicket(box, data);
    }).catch(function (e) { toast("打开会话失败：" + e.message, true); });
  }

  function renderTicket(box, data) {
    var t = data.ticket;
    box.textContent = "";
    var head = el("div", "thead");
    head.appendChild(el("h2", "", "会话 " + t.ticket_id));
    head.appendChild(el("span", "badge", STATUS[t.status] || t.status));
    box.appendChild(head);
    var facts = el("dl", "facts");
    [["转人工原因", REASONS[t.reason] || t.reason], ["优先级", PRIORITY[data.priority] || "P" + data.priority],
      ["意图", intentLabel(t.intent)],
      ["渠道", data.channel || "web"], ["开始时间", time(t.created_at)], ["处理人", t.claimed_by || "—"]]
      .concat(t.waiting ? [["夜间留言", "顾客在非工作时间转人工，等待早班回复"]] : [])
      .concat(t.callback_phone ? [["回电号码", t.callback_phone]] : [])
      .forEach(function (kv) { facts.appendChild(el("dt", "", kv[0])); facts.appendChild(el("dd", "", kv[1])); });
    box.appendChild(facts);
    if (t.entities && t.entities.length) {
      var ents = el("div", "chips");
      t.entities.forEach(function (e) { ents.appendChild(el("span", "chip", e.type + "：" + (e.text || e.value))); });
      box.appendChild(ents);
    }
    if (data.products.length) {
      var cards = el("div", "products");
      data.products.forEach(function (p) {
        var c = el("div", "product");
        c.appendChild(el("strong", "", p.name));
        c.appendChild(el("div", "", p.product_id + " · " + (p.price !== null ? "¥" + p.price : "—") +
          " · 库存 " + (p.stock === null ? "—" : p.stock)));
        cards.appendChild(c);
      });
      box.appendChild(cards);
    }
    var transcript = el("ol", "transcript");
    t.transcript.forEach(function (turn) {
      var li = el("li", "turn turn-" + turn.role);
      var who = { shopper: "顾客", bot: "机器人", agent: "客服" }[turn.role] || turn.role;
      li.appendChild(el("span", "who", who + " " + time(turn.at)));
      li.appendChild(el("div", "text", turn.text));
      if (turn.intent && turn.role === "shopper") li.appendChild(el("span", "tag", intentLabel(turn.intent)));
      (turn.sources || []).forEach(function (s) { li.appendChild(el("span", "tag src", "来源 " + s.kind + ":" + s.id)); });
      transcript.appendChild(li);
    });
    box.appendChild(transcript);
    if (data.sources.length) {
      var src = el("p", "muted", "机器人的回答来源：" + data.sources.map(function (s) { return s.kind + ":" + s.id; }).join("、"));
      box.appendChild(src);
    }
    if (t.status === "closed") { box.appendChild(el("p", "muted", "会话已结束，机器人已恢复接待。")); return; }
    var actions = el("div", "tactions");
    if (t.status === "queued") {
      actions.appendChild(button("认领", function () {
        api("POST", "/v1/handoffs/" + t.ticket_id + "/claim").then(function () { toast("已认领"); openTicket(t.ticket_id); })
          .catch(function (e) { toast("认领失败：" + e.message, true); });
      }, "primary claim"));
      box.appendChild(actions);
      return;
    }
    var mine = t.claimed_by === me.name || me.role === "admin";
    var sugg = el("div", "suggestions");
    sugg.appendChild(el("h3", "", "建议回复（点击插入，可修改）"));
    t.suggested_replies.forEach(function (s) {
      sugg.appendChild(button(s, function () { var r = $("reply-text"); r.value = s; r.focus(); }, "suggestion"));
    });
    box.appendChild(sugg);
    var area = el("textarea", "reply");
    area.id = "reply-text";
    area.rows = 4;
    area.maxLength = 2000;
    area.placeholder = mine ? "输入回复…" : "该会话由 " + t.claimed_by + " 处理";
    area.disabled = !mine;
    area.value = draft;
    box.appendChild(area);
    actions.appendChild(button("发送", function () {
      var text = area.value.trim();
      if (!text) return;
      api("POST", "/v1/handoffs/" + t.ticket_id + "/reply", { text: text }).then(function () {
        draft = ""; area.value = ""; lastAgentAnswer = text; toast("已发送"); openTicket(t.ticket_id);
      }).catch(function (e) { toast("发送失败：" + e.message, true); });
    }, "primary send"));
    actions.appendChild(button("保存为常见问题", function () {
      var shopper = t.transcript.filter(function (x) { return x.role === "shopper"; });
      var agentTurns = t.transcript.filter(function (x) { return x.role === "agent"; });
      var answer = area.value.trim() || (agentTurns.length ? agentTurns[agentTurns.length - 1].text : lastAgentAnswer);
      var question = shopper.length ? shopper[Math.max(0, shopper.length - 2)].text : "";
      openFaqDialog(question, answer, t.ticket_id);
    }, "faq"));
    actions.appendChild(button("结束会话", function () {
      api("POST", "/v1/handoffs/" + t.ticket_id + "/close").then(function () {
        toast("会话已结束，机器人恢复接待"); openTicket(t.ticket_id);
      }).catch(function (e) { toast("结束失败：" + e.message, true); });
    }, "danger close"));
    if (!mine) actions.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    box.appendChild(actions);
  }
  var lastAgentAnswer = "";

  // --- FAQ proposals (agents and operators) ---------------------------------------------------------
  var faqTicket = null;
  function openFaqDialog(question, answer, ticketId) {
    faqTicket = ticketId || null;
    $("faq-question").value = question || "";
    $("faq-answer").value = answer || "";
    $("faq-error").textContent = "";
    $("faq-dialog").showModal();
  }
  $("faq-cancel").addEventListener("click", function () { $("faq-dialog").close(); });
  $("faq-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var body = { question: $("faq-question").value.trim(), answer: $("faq-answer").value.trim() };
    if (faqTicket) body.ticket_id = faqTicket;
    api("POST", "/v1/console/faq", body).then(function (cs) {
      $("faq-dialog").close();
      toast("已提交变更 " + cs.id + "，等待运营审核");
      if (!$("tab-changes").hidden) loadChangeSets();
    }).catch(function (e) { $("faq-error").textContent = "提交失败：" + e.message; });
  });

  // --- operators: change sets ---------------------------------------------------------------------------
  function renderDiff(cs) {
    var box = $("diff");
    box.textContent = "";
    box.dataset.changesetId = cs.id;
    var head = el("div", "thead");
    head.appendChild(el("h3", "", "变更 " + cs.id));
    head.appendChild(el("span", "badge status-" + cs.status, STATUS[cs.status] || cs.status));
    box.appendChild(head);
    var counts = Object.keys(cs.counts).map(function (k) {
      var c = cs.counts[k];
      return k + "：新增 " + (c.created || 0) + "，修改 " + (c.updated || 0) + "，删除 " + (c.deleted || 0) +
        "，不变 " + (c.unchanged || 0);
    }).join("；");
    box.appendChild(el("p", "muted", counts || "无变化"));
    var table = el("table", "grid diff");
    var thead = el("tr");
    ["操作", "类型", "编号", "内容"].forEach(function (h) { thead.appendChild(el("th", "", h)); });
    table.appendChild(thead);
    cs.changes.forEach(function (c) {
      var tr = el("tr", "op-" + c.op);
      tr.appendChild(el("td", "op", OPS[c.op] || c.op));
      tr.appendChild(el("td", "", c.entity));
      tr.appendChild(el("td", "", c.id));
      var td = el("td");
      (c.fields || []).forEach(function (f) {
        var line = el("div", "field");
        line.appendChild(el("b", "", f.field + "："));
        line.appendChild(el("del", "", f.old === null || f.old === undefined ? "∅" : JSON.stringify(f.old)));
        line.appendChild(document.createTextNode(" → "));
        line.appendChild(el("ins", "", f.new === null || f.new === undefined ? "∅" : JSON.stringify(f.new)));
        td.appendChild(line);
      });
      tr.appendChild(td);
      table.appendChild(tr);
    });
    if (!cs.changes.length) { var tr = el("tr"); var td = el("td", "muted", "文件与店铺现有数据一致，没有变化"); td.colSpan = 4; tr.appendChild(td); table.appendChild(tr); }
    box.appendChild(table);
    var actions = el("div", "tactions");
    if (cs.status === "pending") {
      actions.appendChild(button("应用", function () { act(cs.id, "apply", "已应用"); }, "primary apply"));
      actions.appendChild(button("放弃", function () { act(cs.id, "discard", "已放弃"); }, "discard"));
    } else if (cs.status === "applied") {
      actions.appendChild(button("回滚", function () { act(cs.id, "rollback", "已回滚"); }, "danger rollback"));
    }
    box.appendChild(actions);
  }
  function act(id, verb, done) {
    api("POST", "/v1/changesets/" + encodeURIComponent(id) + "/" + verb).then(function (cs) {
      toast(done + " " + cs.id);
      renderDiff(cs);
      loadChangeSets();
    }).catch(function (e) { toast("操作失败：" + e.message, true); });
  }
  function loadChangeSets() {
    api("GET", "/v1/changesets").then(function (data) {
      var tbody = $("changesets");
      tbody.textContent = "";
      data.change_sets.forEach(function (cs) {
        var tr = el("tr", "status-" + cs.status);
        tr.dataset.changesetId = cs.id;
        tr.appendChild(el("td", "", cs.id));
        tr.appendChild(el("td", "", cs.author));
        tr.appendChild(el("td", "", time(cs.created_at)));
        tr.appendChild(el("td", "status", STATUS[cs.status] || cs.status));
        tr.appendChild(el("td", "", Object.keys(cs.counts).map(function (k) {
          var c = cs.counts[k]; return k + " +" + (c.created || 0) + " ~" + (c.updated || 0) + " -" + (c.deleted || 0);
        }).join(" ")));
        var td = el("td");
        td.appendChild(button("查看", function () {
          api("GET", "/v1/changesets/" + encodeURIComponent(cs.id)).then(renderDiff);
        }, "link"));
        if (cs.status === "applied") td.appendChild(button("回滚", function () { act(cs.id, "rollback", "已回滚"); }, "link rollback"));
        tr.appendChild(td);
        tbody.appendChild(tr);
      });
    }).catch(function (e) { toast("读取变更记录失败：" + e.message, true); });
  }
  $("upload-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var fd = new FormData();
    fd.append("file", $("upload-file").files[0]);
    if ($("upload-kind").value) fd.append("kind", $("upload-kind").value);
    if ($("upload-prune").checked) fd.append("prune", "true");
    $("upload-error").textContent = "";
    api("POST", "/v1/changesets", fd).then(function (cs) { renderDiff(cs); loadChangeSets(); }).catch(function (e) {
      var details = e.body && e.body.error && e.body.error.details;
      $("upload-error").textContent = "文件有误：" + e.message +
        (Array.isArray(details) ? "\n" + details.slice(0, 10).map(function (d) { return typeof d === "string" ? d : JSON.stringify(d); }).join("\n") : "");
    });
  });

  // --- operators: try a question ----------------------------------------------------------------------------
  $("try-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var box = $("try-result");
    box.textContent = "…";
    api("POST", "/v1/console/try", { message: $("try-input").value }).then(function (data) {
      var r = data.reply;
      box.textContent = "";
      box.appendChild(el("div", "bubble", r.reply || "（机器人不作回答：会话已转人工）"));
      var dl = el("dl", "facts");
      [["意图", intentLabel(r.intent) + " · 置信度 " + r.confidence], ["状态", r.state],
        ["实体", (r.entities || []).map(function (e) { return e.type + "=" + e.value + "（" + e.text + "）"; }).join("、") || "—"],
        ["回答来源", (r.sources || []).map(function (s) { return s.kind + ":" + s.id; }).join("、") || "—"],
        ["候选", (r.suggestions || []).join(" / ") || "—"]]
        .forEach(function (kv) { dl.appendChild(el("dt", "", kv[0])); dl.appendChild(el("dd", "", kv[1])); });
      box.appendChild(dl);
    }).catch(function (e) { box.textContent = "出错了：" + e.message; });
  });

  // --- operators: analytics board ------------------------------------------------------------------------------
  var KNOWN_KPIS = [
    ["messages", "消息数", String], ["sessions", "会话数", String], ["auto_resolution_rate", "自动解决率", pct],
    ["handoff_rate", "转人工率", pct], ["fallback_rate", "未理解率", pct], ["night_share", "夜间消息占比", pct],
    ["latency_p50_ms", "延迟 p50", ms], ["latency_p95_ms", "延迟 p95", ms],
    ["leads", "销售线索", String], ["conversion_rate", "转化率", pct], ["conversions", "成交", String],
    ["satisfaction", "满意度", function (x) { return typeof x === "number" && x <= 1 ? pct(x) : String(x); }],
    ["satisfaction_avg", "平均评分", function (x) { return (Math.round(x * 100) / 100) + " / 5"; }],
    ["ratings", "评价数", String]
  ];
  function kpiTile(label, value) {
    var d = el("div", "kpi");
    d.appendChild(el("div", "v", value));
    d.appendChild(el("div", "l", label));
    return d;
  }
  function loadBoard() {
    var days = Number($("board-window").value);
    var from = new Date(Date.now() - days * 86400000).toISOString().slice(0, 19) + "Z";
    var to = new Date(Date.now() + 60000).toISOString().slice(0, 19) + "Z";
    var q = "?from=" + encodeURIComponent(from) + "&to=" + encodeURIComponent(to);
    api("GET", "/v1/analytics/summary" + q).then(function (s) {
      var kpis = $("kpis");
      kpis.textContent = "";
      var shown = {};
      KNOWN_KPIS.forEach(function (k) {
        if (s[k[0]] === undefined || s[k[0]] === null) return;
        shown[k[0]] = 1;
        kpis.appendChild(kpiTile(k[1], k[2](s[k[0]])));
      });
      Object.keys(s).forEach(function (k) {  // figures added to the summary later still show
        if (shown[k] || typeof s[k] !== "number" || ["night_messages", "handoffs"].indexOf(k) >= 0) return;
        kpis.appendChild(kpiTile(k, /rate|share/.test(k) ? pct(s[k]) : String(Math.round(s[k] * 100) / 100)));
      });
      Object.keys(s).forEach(function (k) {  // nested figures (e.g. leads by stage)
        if (!s[k] || typeof s[k] !== "object" || Array.isArray(s[k]) ||
            ["by_intent", "handoff_reasons"].indexOf(k) >= 0) return;
        var vals = Object.keys(s[k]).filter(function (x) { return typeof s[k][x] === "number"; });
        if (vals.length) kpis.appendChild(kpiTile(k, vals.map(function (x) { return x + " " + s[k][x]; }).join(" · ")));
      });
      var labels = s.by_hour.map(function (_, h) { return String(h); });
      var bands = NIGHT_START > NIGHT_END ? [[0, NIGHT_END], [NIGHT_START, 24]] : [[NIGHT_START, NIGHT_END]];
      YebanCharts.bars($("chart-hours"), s.by_hour, { labels: labels, labelEvery: 2, bands: bands, bandLabel: "夜间",
        title: "每小时消息量" });
      YebanCharts.hbars($("chart-topics"), Object.keys(s.by_intent).slice(0, 10).map(function (k) {
        return [INTENTS[k] || k, s.by_intent[k]];
      }), { title: "热门问题类型" });
      YebanCharts.hbars($("chart-reasons"), Object.keys(s.handoff_reasons).map(function (k) {
        return [REASONS[k] || k, s.handoff_reasons[k]];
      }), { title: "转人工原因" });
    }).catch(function (e) { toast("读取看板失败：" + e.message, true); });
    api("GET", "/v1/analytics/night-shift" + q).then(renderNightShift).catch(function (e) {
      if (e.status !== 404) toast("读取夜班数据失败：" + e.message, true);
    });
    api("GET", "/v1/console/unanswered" + q).then(function (data) {
      var box = $("clusters");
      box.textContent = "";
      if (!data.clusters.length) { box.appendChild(el("p", "muted", "暂无未回答的问题")); return; }
      var ul = el("ul", "clusters");
      data.clusters.forEach(function (c) {
        var li = el("li", "cluster");
        li.appendChild(el("strong", "", c.representative));
        li.appendChild(el("span", "count", " × " + c.count));
        if (c.questions.length > 1) li.appendChild(el("div", "muted", "相似问法：" + c.questions.slice(1, 6).join(" / ")));
        li.appendChild(button("转为常见问题", function () { openFaqDialog(c.representative, "", null); }, "link to-faq"));
        ul.appendChild(li);
      });
      box.appendChild(ul);
    }).catch(function (e) { toast("读取未回答问题失败：" + e.message, true); });
  }
  function renderNightShift(n) {
    var kpis = $("night-kpis");
    kpis.textContent = "";
    [["销售线索", n.leads], ["成交", n.converted], ["转化率", pct(n.conversion_rate)],
      ["夜间转化率", n.night ? pct(n.night.conversion_rate) : "—"], ["白天转化率", n.day ? pct(n.day.conversion_rate) : "—"],
      ["归因销售额", "¥" + Math.round(n.revenue_attributed || 0)],
      ["满意度", n.rating_average === null || n.rating_average === undefined ? "—" :
        (Math.round(n.rating_average * 100) / 100) + " / 5（" + n.ratings + " 条）"],
      ["首次回复 p50", ms(n.first_reply_p50_ms)], ["会话自动解决率", pct(n.auto_resolution_rate)]]
      .forEach(function (k) { kpis.appendChild(kpiTile(k[0], String(k[1]))); });
    var hours = (n.by_hour || []).slice().sort(function (a, b) { return a.hour - b.hour; });
    var leads = [], labels = [];
    for (var h = 0; h < 24; h++) {
      var row = hours.filter(function (x) { return x.hour === h; })[0];
      leads.push(row ? row.leads : 0);
      labels.push(String(h));
    }
    var bands = NIGHT_START > NIGHT_END ? [[0, NIGHT_END], [NIGHT_START, 24]] : [[NIGHT_START, NIGHT_END]];
    YebanCharts.bars($("chart-leads"), leads, { labels: labels, labelEvery: 2, bands: bands, bandLabel: "夜间",
      title: "每小时销售线索" });
    YebanCharts.hbars($("chart-night-products"), (n.top_night_products_without_order || []).slice(0, 8).map(function (p) {
      return [p.name || p.product_id, p.sessions];
    }), { title: "夜间咨询未下单的商品" });
  }
  $("board-refresh").addEventListener("click", loadBoard);
  $("board-window").addEventListener("change", loadBoard);

  // --- start ----------------------------------------------------------------------------------------------------
  var fromLink = /^#token=(.+)$/.exec(location.hash);  // make demo prints /console#token=... (never sent to the server)
  if (fromLink) {
    token = decodeURIComponent(fromLink[1]);
    sessionStorage.setItem(TOKEN_KEY, token);
    history.replaceState(null, "", location.pathname);
  }
  if (token) {
    api("GET", "/v1/console/me").then(enter).catch(function () { sessionStorage.removeItem(TOKEN_KEY); token = null; });
  }
})();
