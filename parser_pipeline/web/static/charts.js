// vkpipe workspace charts: SVG drawn from the JSON the server computes (GET .../charts/data.json).
// Every series has its own dash pattern and marker shape and a label at its end, and every chart
// has a table of its numbers: nothing is told by colour alone.
"use strict";

(function () {
  const SVG = "http://www.w3.org/2000/svg";
  // Okabe & Ito's palette, distinguishable with common colour-vision deficiencies.
  const COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"];
  const DASHES = ["", "6 3", "2 3", "8 3 2 3", "1 2", "10 4"];
  const MARKERS = ["circle", "square", "triangle", "diamond", "cross"];
  const W = 720, H = 260, PAD = { left: 48, right: 130, top: 12, bottom: 28 };

  function el(name, attrs, parent) {
    const node = document.createElementNS(SVG, name);
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
    if (parent) parent.appendChild(node);
    return node;
  }

  function html(tag, text, parent) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }

  function marker(group, shape, x, y, colour) {
    const s = 3.5;
    const common = { fill: colour, stroke: colour };
    if (shape === "circle") return el("circle", { cx: x, cy: y, r: s, ...common }, group);
    if (shape === "square") return el("rect", { x: x - s, y: y - s, width: 2 * s, height: 2 * s, ...common }, group);
    if (shape === "triangle") return el("path", { d: `M${x},${y - s - 1}L${x + s + 1},${y + s}L${x - s - 1},${y + s}Z`, ...common }, group);
    if (shape === "diamond") return el("path", { d: `M${x},${y - s - 1}L${x + s + 1},${y}L${x},${y + s + 1}L${x - s - 1},${y}Z`, ...common }, group);
    return el("path", { d: `M${x - s},${y - s}L${x + s},${y + s}M${x - s},${y + s}L${x + s},${y - s}`, stroke: colour, "stroke-width": 2 }, group);
  }

  function days(from, to) {
    const out = [];
    for (let d = new Date(from + "T00:00:00Z"); d <= new Date(to + "T00:00:00Z"); d.setUTCDate(d.getUTCDate() + 1)) {
      out.push(d.toISOString().slice(0, 10));
    }
    return out;
  }

  function figure(parent, id, title) {
    const fig = html("figure", undefined, parent);
    fig.className = "chart";
    fig.id = id;
    const caption = html("figcaption", title, fig);
    caption.id = id + "-title";
    return fig;
  }

  // series: [{name, points: {day: value}}]
  function lineChart(parent, id, title, series, valueName) {
    const fig = figure(parent, id, title);
    const all = series.flatMap((s) => Object.keys(s.points)).sort();
    if (!all.length) { html("p", "Nothing in this range.", fig); return; }
    const axis = days(all[0], all[all.length - 1]);
    const max = Math.max(1, ...series.flatMap((s) => Object.values(s.points)));
    const x = (i) => PAD.left + (axis.length === 1 ? 0 : (i * (W - PAD.left - PAD.right)) / (axis.length - 1));
    const y = (v) => H - PAD.bottom - (v * (H - PAD.top - PAD.bottom)) / max;
    const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": id + "-title", class: "line" }, fig);
    [0, Math.round(max / 2), max].forEach((v) => {
      el("line", { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), class: "grid" }, svg);
      el("text", { x: PAD.left - 6, y: y(v) + 4, "text-anchor": "end" }, svg).textContent = v;
    });
    [0, Math.floor((axis.length - 1) / 2), axis.length - 1].forEach((i) => {
      el("text", { x: x(i), y: H - 8, "text-anchor": "middle" }, svg).textContent = axis[i];
    });
    series.forEach((s, n) => {
      const colour = COLOURS[n % COLOURS.length];
      const g = el("g", { "data-series": s.name }, svg);
      const path = axis.map((day, i) => `${i ? "L" : "M"}${x(i)},${y(s.points[day] || 0)}`).join("");
      el("path", { d: path, fill: "none", stroke: colour, "stroke-width": 2, "stroke-dasharray": DASHES[n % DASHES.length] }, g);
      axis.forEach((day, i) => {
        if (s.points[day]) marker(g, MARKERS[n % MARKERS.length], x(i), y(s.points[day]), colour);
      });
      const last = axis.length - 1;
      el("text", { x: x(last) + 8, y: y(s.points[axis[last]] || 0) + 4 + (n % 3) * 2, fill: colour, class: "series-label" }, g).textContent = s.name;
    });
    const details = html("details", undefined, fig);
    html("summary", "Numbers", details);
    const table = html("table", undefined, details);
    table.className = "data";
    const head = html("tr", undefined, html("thead", undefined, table));
    html("th", "day", head).scope = "col";
    series.forEach((s) => { html("th", `${s.name} (${valueName})`, head).scope = "col"; });
    const body = html("tbody", undefined, table);
    all.filter((d, i) => all.indexOf(d) === i).forEach((day) => {
      const row = html("tr", undefined, body);
      html("th", day, row).scope = "row";
      series.forEach((s) => html("td", String(s.points[day] || 0), row));
    });
  }

  // rows: [{label, value, extra}] ; columns: header names [label, value, extra?]
  function barChart(parent, id, title, rows, columns) {
    const fig = figure(parent, id, title);
    if (!rows.length) { html("p", "Nothing in this range.", fig); return; }
    const max = Math.max(1, ...rows.map((r) => r.value));
    const rowH = 22, labelW = 230, barW = W - labelW - 70;
    const svg = el("svg", { viewBox: `0 0 ${W} ${rows.length * rowH + 8}`, role: "img", "aria-labelledby": id + "-title", class: "bars" }, fig);
    rows.forEach((r, i) => {
      const top = 4 + i * rowH;
      el("text", { x: labelW - 8, y: top + 15, "text-anchor": "end" }, svg).textContent = r.label.length > 34 ? r.label.slice(0, 33) + "…" : r.label;
      el("rect", { x: labelW, y: top + 3, width: Math.max(1, (r.value * barW) / max), height: rowH - 8, class: "bar" }, svg);
      el("text", { x: labelW + (r.value * barW) / max + 6, y: top + 15 }, svg).textContent = r.value;
    });
    const table = html("table", undefined, fig);
    table.className = "data";
    const head = html("tr", undefined, html("thead", undefined, table));
    columns.forEach((c) => { html("th", c, head).scope = "col"; });
    const body = html("tbody", undefined, table);
    rows.forEach((r) => {
      const row = html("tr", undefined, body);
      html("th", r.label, row).scope = "row";
      html("td", String(r.value), row);
      if (r.extra !== undefined) html("td", String(r.extra), row);
    });
  }

  function sumBy(rows, key, value) {
    const out = {};
    rows.forEach((r) => {
      const name = key(r);
      out[name] = out[name] || {};
      out[name][r.day] = (out[name][r.day] || 0) + r[value];
    });
    return Object.entries(out).map(([name, points]) => ({ name, points }));
  }

  function draw(section, data) {
    const s = data.stats, names = data.group_names;
    const group = (id) => names[String(id)] || "club" + id;
    section.replaceChildren();
    const total = s.comments_per_day.reduce((a, r) => a + r.comments, 0);
    const matches = s.matches_per_day.reduce((a, r) => a + r.matches, 0);
    const summary = html("p", `${total} comments, ${matches} matches.`, section);
    summary.className = "summary";
    summary.id = "chart-summary";
    lineChart(section, "comments-per-day", "Comments per day, by group", sumBy(s.comments_per_day, (r) => group(r.group_id), "comments"), "comments");
    lineChart(section, "matches-per-group", "Matches per day, by group", sumBy(s.matches_per_group_category_day, (r) => group(r.group_id), "matches"), "matches");
    lineChart(section, "matches-per-category", "Matches per day, by category", sumBy(s.matches_per_group_category_day, (r) => r.category || "(none)", "matches"), "matches");
    barChart(section, "top-keywords", "Top keywords (matches)", s.top_keywords.map((k) => ({ label: k.phrase, value: k.matches, extra: k.comments })), ["keyword", "matches", "comments"]);
    barChart(section, "top-categories", "Top categories (matches)", s.top_categories.map((c) => ({ label: c.category || "(none)", value: c.matches, extra: c.comments })), ["category", "matches", "comments"]);
    barChart(section, "top-authors", "Top authors (comments)", s.top_authors.map((a) => ({ label: a.name || "id" + a.author_id, value: a.comments, extra: a.matched_comments })), ["author", "comments", "with matches"]);
    barChart(section, "top-posts", "Most discussed posts (comments)", s.top_posts.map((p) => ({ label: `wall-${p.group_id}_${p.post_id} ${p.text}`, value: p.comments, extra: p.matched_comments })), ["post", "comments", "with matches"]);
    section.dataset.ready = "true";
  }

  document.addEventListener("DOMContentLoaded", () => {
    const section = document.getElementById("charts");
    if (!section || !section.dataset.source || section.querySelector(".error")) return;
    fetch(section.dataset.source, { credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error("the server answered " + r.status))))
      .then((data) => draw(section, data))
      .catch((error) => {
        section.replaceChildren();
        html("p", "The numbers could not be loaded: " + error.message, section).className = "error";
      });
  });
})();
