/* Tiny SVG charts for the analytics board: vertical bars (with shaded bands) and
 * horizontal bars. No dependencies; values and labels are written as text nodes. */
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";

  function node(tag, attrs, text) {
    var n = document.createElementNS(NS, tag);
    Object.keys(attrs || {}).forEach(function (k) { n.setAttribute(k, attrs[k]); });
    if (text !== undefined) n.textContent = text;
    return n;
  }

  /* bars(container, values, {labels, bands: [[from, to)], bandLabel, color}) */
  function bars(container, values, opts) {
    opts = opts || {};
    var w = 480, h = 200, left = 30, bottom = 22, top = 12;
    var max = Math.max.apply(null, values.concat([1]));
    var step = (w - left - 6) / values.length;
    var svg = node("svg", { viewBox: "0 0 " + w + " " + h, role: "img", "class": "chart-svg",
      "aria-label": opts.title || "柱状图" });
    (opts.bands || []).forEach(function (b) {
      svg.appendChild(node("rect", { x: left + b[0] * step, y: top, width: (b[1] - b[0]) * step,
        height: h - top - bottom, "class": "chart-band" }));
    });
    if (opts.bandLabel && opts.bands && opts.bands.length) {
      svg.appendChild(node("text", { x: left + opts.bands[opts.bands.length - 1][0] * step + 4, y: top + 12,
        "class": "chart-band-label" }, opts.bandLabel));
    }
    [0, 0.5, 1].forEach(function (f) {
      var y = h - bottom - f * (h - top - bottom);
      svg.appendChild(node("line", { x1: left, x2: w, y1: y, y2: y, "class": "chart-grid" }));
      svg.appendChild(node("text", { x: left - 4, y: y + 4, "text-anchor": "end", "class": "chart-axis" },
        String(Math.round(f * max))));
    });
    values.forEach(function (v, i) {
      var bh = (v / max) * (h - top - bottom);
      var bar = node("rect", { x: left + i * step + 1.5, y: h - bottom - bh, width: Math.max(step - 3, 1),
        height: bh, "class": "chart-bar", "data-value": v });
      bar.appendChild(node("title", {}, (opts.labels ? opts.labels[i] : i) + "：" + v));
      svg.appendChild(bar);
      if (!opts.labels || i % (opts.labelEvery || 1) === 0) {
        svg.appendChild(node("text", { x: left + i * step + step / 2, y: h - 8, "text-anchor": "middle",
          "class": "chart-axis" }, opts.labels ? opts.labels[i] : String(i)));
      }
    });
    container.textContent = "";
    container.appendChild(svg);
    return svg;
  }

  /* hbars(container, [[label, value], ...], {format}) */
  function hbars(container, pairs, opts) {
    opts = opts || {};
    container.textContent = "";
    if (!pairs.length) { container.appendChild(document.createTextNode("暂无数据")); return null; }
    var row = 22, w = 400, labelW = 130, h = pairs.length * row + 8;
    var max = Math.max.apply(null, pairs.map(function (p) { return p[1]; }).concat([1]));
    var svg = node("svg", { viewBox: "0 0 " + w + " " + h, role: "img", "class": "chart-svg",
      "aria-label": opts.title || "条形图" });
    pairs.forEach(function (p, i) {
      var y = 4 + i * row;
      svg.appendChild(node("text", { x: labelW - 6, y: y + 15, "text-anchor": "end", "class": "chart-label" }, p[0]));
      var bw = (p[1] / max) * (w - labelW - 40);
      svg.appendChild(node("rect", { x: labelW, y: y + 3, width: Math.max(bw, 1), height: row - 8,
        "class": "chart-bar", "data-value": p[1] }));
      svg.appendChild(node("text", { x: labelW + bw + 6, y: y + 15, "class": "chart-axis" },
        opts.format ? opts.format(p[1]) : String(p[1])));
    });
    container.appendChild(svg);
    return svg;
  }

  window.YebanCharts = { bars: bars, hbars: hbars };
})();
