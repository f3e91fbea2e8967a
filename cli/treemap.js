// Draws the report's treemap from the JSON block #data (see cli/treemap.py).
// Every string that came from a key is set with textContent or title, never as HTML.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("data").textContent);
  var COLORS = {string: "#4e79a7", list: "#f28e2b", set: "#59a14f", zset: "#e15759",
                hash: "#499894", stream: "#b6992d", module: "#b07aa1"};
  var HEADER = 16, PAD = 2, MIN_NEST = 24;

  function human(n) {
    var units = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : String(n)) + " " + units[i];
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function dominant(types) {
    var best = null;
    for (var t in types) if (best === null || types[t] > types[best]) best = t;
    return best;
  }

  // The aspect ratio of the worst box in a row of areas (sum s, extremes lo..hi) along a side.
  function worst(s, lo, hi, side) {
    var s2 = s * s, w2 = side * side;
    return Math.max(w2 * hi / s2, s2 / (w2 * lo));
  }

  // Squarified treemap (Bruls, Huizing, van Wijk): areas sorted biggest first, laid in
  // rows along the shorter side, a row growing while it makes its worst box squarer.
  function squarify(areas, x, y, w, h) {
    var out = [], i = 0;
    while (i < areas.length) {
      var side = Math.min(w, h), s = areas[i], lo = areas[i], hi = areas[i], j = i + 1;
      while (j < areas.length) {
        var a = areas[j];
        if (worst(s + a, Math.min(lo, a), hi, side) > worst(s, lo, hi, side)) break;
        s += a; lo = Math.min(lo, a); j++;
      }
      var thick = side > 0 ? s / side : 0, pos = 0;
      for (var k = i; k < j; k++) {
        var len = thick > 0 ? areas[k] / thick : 0;
        if (w >= h) out.push([x, y + pos, thick, len]);
        else out.push([x + pos, y, len, thick]);
        pos += len;
      }
      if (w >= h) { x += thick; w -= thick; } else { y += thick; h -= thick; }
      i = j;
    }
    return out;
  }

  function tooltip(node) {
    var lines = [node.key !== undefined ? "key " + node.key + " (db" + node.db + ")" :
                 node.p !== undefined && node.p !== "" ? node.p : node.l || "all keys",
                 node.k + " keys, " + node.b + " bytes (" + human(node.b) + "), " +
                 (100 * node.b / data.tree.b).toFixed(2) + "% of all"];
    var types = Object.keys(node.t).sort(function (a, b) { return node.t[b] - node.t[a]; });
    types.forEach(function (t) { lines.push("  " + t + ": " + human(node.t[t])); });
    return lines.join("\n");
  }

  function px(n) { return n.toFixed(1) + "px"; }

  function draw(node, parent, r, root) {
    var box = el("div", root ? "box root" : "box");
    if (node.o) box.classList.add("other");
    else if (node.key !== undefined) box.dataset.key = node.key;
    else box.dataset.prefix = node.p;
    box.dataset.bytes = node.b;
    box.dataset.keys = node.k;
    box.style.left = px(r[0]); box.style.top = px(r[1]);
    box.style.width = px(r[2]); box.style.height = px(r[3]);
    box.title = tooltip(node);
    var nest = node.c && r[2] > MIN_NEST && r[3] > MIN_NEST + HEADER;
    if (!root) box.appendChild(el("span", "label", (node.o ? node.l : node.l || node.p) +
                                  " " + human(node.b)));
    if (!nest) {
      var t = dominant(node.t);
      if (!node.o) { box.classList.add("leaf"); box.style.background = COLORS[t] || "#777"; }
    }
    parent.appendChild(box);
    if (!nest) return;
    var top = root ? 0 : HEADER, pad = root ? 0 : PAD;
    var w = r[2] - 2 * pad - 2, h = r[3] - top - pad - 2;  // inside the 1px borders
    if (root) { w = r[2]; h = r[3]; }
    var kids = node.c.filter(function (c) { return c.b > 0; });
    var scale = w * h / kids.reduce(function (s, c) { return s + c.b; }, 0);
    var rects = squarify(kids.map(function (c) { return c.b * scale; }), pad, top, w, h);
    kids.forEach(function (c, i) { draw(c, box, rects[i], false); });
  }

  function table(caption, heads, rows) {
    var t = el("table"), tr = el("tr");
    t.appendChild(el("caption", "", caption));
    heads.forEach(function (h) { tr.appendChild(el("th", "", h)); });
    t.appendChild(tr);
    rows.forEach(function (row) {
      var r = el("tr");
      row.forEach(function (v) { r.appendChild(el("td", typeof v === "number" ? "n" : "", String(v))); });
      t.appendChild(r);
    });
    return t;
  }

  var head = document.getElementById("head");
  head.appendChild(el("h1", "", "Memory by key prefix: " + data.tree.k + " keys, " +
                      human(data.tree.b) + " (" + data.tree.b + " bytes) as Redis 7.0 would use"));
  head.appendChild(el("div", "", data.sources.join(", ") + " — split on '" + data.separator +
                      "', " + data.depth + " levels; box area is memory, colour the main type"));
  var legend = el("div", "legend");
  Object.keys(data.by_type).forEach(function (t) {
    var s = el("span"), sw = el("i");
    sw.style.background = COLORS[t] || "#777";
    s.appendChild(sw);
    s.appendChild(document.createTextNode(t));
    legend.appendChild(s);
  });
  head.appendChild(legend);

  var map = document.getElementById("map");
  var width = Math.max(300, document.documentElement.clientWidth - 16);
  var height = Math.max(200, window.innerHeight - head.offsetHeight - 8);
  map.style.height = px(height);
  draw(data.tree, map, [0, 0, width, height], true);

  var tables = document.getElementById("tables");
  tables.appendChild(table("By type", ["type", "keys", "bytes"],
    Object.keys(data.by_type).map(function (t) { return [t, data.by_type[t].keys, data.by_type[t].bytes]; })));
  tables.appendChild(table("By db", ["db", "keys", "bytes"],
    Object.keys(data.by_db).map(function (d) { return ["db" + d, data.by_db[d].keys, data.by_db[d].bytes]; })));
  tables.appendChild(table("Biggest keys", ["bytes", "db", "key", "type", "encoding", "elements"],
    data.top_keys.map(function (k) { return [k.bytes, k.db, k.key, k.type, k.encoding, k.elements]; })));
})();
