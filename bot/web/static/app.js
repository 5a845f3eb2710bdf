// Liquidity Bot dashboard: draws the sparklines and the metric chart with uPlot (vendored,
// /static/vendor). Data comes from data-* attributes and /api/series; no inline script anywhere.
"use strict";

(function () {
  function css(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  // Values in the catalog unit: dollars, percent, basis points (as the chat formats them).
  function fmt(v, unit) {
    if (v === null || v === undefined || isNaN(v)) return "";
    if (unit === "usd") {
      var a = Math.abs(v), s = v < 0 ? "-$" : "$";
      if (a >= 1e12) return s + (a / 1e12).toFixed(3) + "T";
      if (a >= 1e9) return s + (a / 1e9).toFixed(1) + "B";
      if (a >= 1e6) return s + (a / 1e6).toFixed(1) + "M";
      return s + a.toFixed(0);
    }
    if (unit === "percent") return v.toFixed(2) + "%";
    if (unit === "bp") return (v > 0 ? "+" : "") + v.toFixed(0) + " bp";
    return String(Math.round(v * 10000) / 10000);
  }

  function seconds(day) {
    return Date.UTC(+day.slice(0, 4), +day.slice(5, 7) - 1, +day.slice(8, 10)) / 1000;
  }

  function sparkline(el) {
    var dates = JSON.parse(el.dataset.dates || "[]"), values = JSON.parse(el.dataset.values || "[]");
    if (dates.length < 2) return;
    var width = Math.max(80, el.clientWidth || 160);
    new uPlot({
      width: width, height: 36, legend: { show: false }, cursor: { show: false }, select: { show: false },
      axes: [{ show: false }, { show: false }], scales: { x: { time: true } },
      series: [{}, { stroke: css("--accent"), width: 1.5, points: { show: false } }]
    }, [dates.map(seconds), values], el);
  }

  function regimeColor(name) {
    return { scarce: css("--scarce"), ample: css("--ample"), abundant: css("--abundant") }[name] || css("--band");
  }

  function shade(spans) {
    return function (u) {
      var ctx = u.ctx, top = u.bbox.top, h = u.bbox.height;
      ctx.save();
      spans.forEach(function (s) {
        var x0 = Math.max(u.bbox.left, u.valToPos(seconds(s.from), "x", true));
        var x1 = Math.min(u.bbox.left + u.bbox.width, u.valToPos(seconds(s.to), "x", true));
        if (x1 <= x0) return;
        ctx.fillStyle = regimeColor(s.regime);
        ctx.fillRect(x0, top, x1 - x0, h);
      });
      ctx.restore();
    };
  }

  function thresholdLines(lines) {
    return function (u) {
      var ctx = u.ctx, min = u.scales.y.min, max = u.scales.y.max;
      ctx.save();
      ctx.strokeStyle = css("--threshold");
      ctx.setLineDash([6, 4]);
      ctx.lineWidth = 1.5 * devicePixelRatio;
      lines.forEach(function (t) {
        if (t < min || t > max) return;
        var y = u.valToPos(t, "y", true);
        ctx.beginPath();
        ctx.moveTo(u.bbox.left, y);
        ctx.lineTo(u.bbox.left + u.bbox.width, y);
        ctx.stroke();
      });
      ctx.restore();
    };
  }

  function chart(el) {
    fetch(el.dataset.src, { headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (d) {
        if (!d.dates.length) return;
        var unit = d.unit, xs = d.dates.map(seconds);
        var lo = Math.min.apply(null, d.values), hi = Math.max.apply(null, d.values), pad = (hi - lo) * 0.25 || 1;
        var near = d.thresholds.filter(function (t) { return t >= lo - pad && t <= hi + pad; });
        var opts = {
          width: el.clientWidth, height: Math.max(220, Math.min(420, Math.round(el.clientWidth * 0.55))),
          scales: { x: { time: true }, y: { range: function (u, a, b) {
            var all = near.concat([a, b]), l = Math.min.apply(null, all), h = Math.max.apply(null, all), p = (h - l) * 0.05 || 1;
            return [l - p, h + p];
          } } },
          axes: [{ stroke: css("--muted"), grid: { stroke: css("--grid") } },
                 { stroke: css("--muted"), grid: { stroke: css("--grid") }, size: 70,
                   values: function (u, ticks) { return ticks.map(function (v) { return fmt(v, unit); }); } }],
          series: [{}, { label: el.dataset.label, stroke: css("--accent"), width: 2, points: { show: false },
                         value: function (u, v) { return fmt(v, unit); } }],
          hooks: { drawClear: [shade(d.regimes)], draw: [thresholdLines(near)] }
        };
        var plot = new uPlot(opts, [xs, d.values], el);
        el.dataset.rendered = String(d.values.length);
        window.addEventListener("resize", function () {
          plot.setSize({ width: el.clientWidth, height: opts.height });
        });
      })
      .catch(function (err) { el.textContent = String(err); });
  }

  function start() {
    if (typeof uPlot === "undefined") return;
    document.querySelectorAll(".spark").forEach(sparkline);
    var c = document.getElementById("chart");
    if (c) chart(c);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
