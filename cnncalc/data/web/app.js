/* cnncalc's page script: draws the layer graph (dagre's layout, our SVG), links it with the
 * lecture table (select, sort, share bars, exact values in tooltips) and, in `cnncalc serve`,
 * runs the live editor. Reads the JSON in #cnncalc-data (written by cnncalc/report/web.py);
 * needs nothing from the network. Exact integers past 2**53 are read as BigInt. */
(function () {
  "use strict";

  var SVGNS = "http://www.w3.org/2000/svg";
  var NODE_H = 54;
  // payload: what web.py wrote; graph: the index of the drawing shown (payload.graphs); nodeEls:
  // the drawn node elements by index; nodeRows: for each node, the table rows it holds
  var state = {payload: null, graph: 0, measure: "macs", selected: null, sort: null, view: {x: 0, y: 0, k: 1},
    layout: null, layouts: {}, nodeEls: [], nodeRows: [], rowEls: []};

  // ---- exact integers ------------------------------------------------------------------
  function reviver(key, value, ctx) {
    if (typeof value === "number" && Number.isInteger(value) && !Number.isSafeInteger(value) &&
        ctx && typeof ctx.source === "string" && /^-?\d+$/.test(ctx.source)) {
      return BigInt(ctx.source);
    }
    return value;
  }
  function parseJSON(text) { return JSON.parse(text, reviver); }
  function add(a, b) {
    if (typeof a === "bigint" || typeof b === "bigint") return BigInt(a) + BigInt(b);
    var s = a + b;
    return Number.isSafeInteger(s) ? s : BigInt(a) + BigInt(b);
  }
  function cmp(a, b) { return a < b ? -1 : a > b ? 1 : 0; }
  function exact(n) { return n.toLocaleString("en-US"); }
  // 3 significant digits and a suffix, as the terminal's --units auto (display only)
  function auto(n, base, suffixes) {
    var x = Number(n), i = 0;
    while (i + 1 < suffixes.length && x >= Math.pow(base, i + 1)) i++;
    var u = Math.pow(base, i), places = i === 0 || x >= 100 * u ? 0 : x >= 10 * u ? 1 : 2;
    return ((x / u).toFixed(places) + " " + suffixes[i]).trim();
  }
  function fmtCount(n) { return auto(n, 1000, ["", "k", "M", "G", "T"]); }
  function fmtBytes(n) { return auto(n, 1024, ["B", "KB", "MB", "GB", "TB"]); }
  function esc(s) {
    return String(s).replace(/[&<>"]/g, function (c) { return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]; });
  }
  var MEASURE_KEY = {macs: "macs", params: "params", memory: "memory_bytes"};

  // ---- the graph -----------------------------------------------------------------------
  // a box is as wide as its longest line (measured in the font it is drawn in), within bounds
  var measurer = null;
  function textWidth(text, font) {
    if (!measurer) measurer = document.createElement("canvas").getContext("2d");
    measurer.font = font;
    return measurer.measureText(text).width;
  }
  var NAME_FONT = "600 11.5px system-ui, -apple-system, 'Segoe UI', sans-serif";
  var TEXT_FONT = "11px system-ui, -apple-system, 'Segoe UI', sans-serif";
  function nodeLines(n, payload) {
    return [n.label, n.row < 0 ? n.shape : n.type + " · " + n.shape,
      n.row < 0 ? "" : payload.flop_label + " " + fmtCount(n.macs) + " · params " + fmtCount(n.params)];
  }
  function nodeWidth(n, payload) {
    var lines = nodeLines(n, payload);
    var w = Math.max(textWidth(lines[0], NAME_FONT), textWidth(lines[1], TEXT_FONT), textWidth(lines[2], TEXT_FONT));
    return Math.min(MAX_W, Math.max(120, Math.ceil(w + 18)));
  }
  var MAX_W = 300;

  // ---- layout: dagre's, in a worker where the browser allows one (the page stays usable while
  // a big graph is laid out; a newer graph stops an older one's layout), else on this thread.
  // runLayout uses nothing outside itself but dagre: its source is also the worker's code.
  function runLayout(job) {
    var g = new dagre.graphlib.Graph({compound: true});
    g.setGraph({rankdir: "TB", nodesep: 22, ranksep: 26, edgesep: 8, marginx: 12, marginy: 12});
    g.setDefaultEdgeLabel(function () { return {}; });
    job.clusters.forEach(function (c) { g.setNode("c:" + c.id, {}); });
    job.clusters.forEach(function (c) { if (c.parent) g.setParent("c:" + c.id, "c:" + c.parent); });
    job.nodes.forEach(function (n) {
      g.setNode("n:" + n.id, {width: n.width, height: n.height});
      if (n.cluster) g.setParent("n:" + n.id, "c:" + n.cluster);
    });
    job.edges.forEach(function (e) { g.setEdge("n:" + e.source, "n:" + e.target); });
    dagre.layout(g);
    var out = {width: g.graph().width || 1, height: g.graph().height || 1, nodes: {}, clusters: {}, edges: []};
    job.nodes.forEach(function (n) { var b = g.node("n:" + n.id); out.nodes[n.id] = {x: b.x, y: b.y, width: b.width}; });
    job.clusters.forEach(function (c) {
      var b = g.node("c:" + c.id);
      if (b && b.width !== undefined) out.clusters[c.id] = {x: b.x, y: b.y, width: b.width, height: b.height};
    });
    job.edges.forEach(function (e) {
      var ed = g.edge("n:" + e.source, "n:" + e.target);
      out.edges.push(ed && ed.points ? ed.points.map(function (q) { return {x: q.x, y: q.y}; }) : null);
    });
    return out;
  }

  var worker = null, workerFailed = false, jobSeq = 0, busy = false;
  function makeWorker() {
    var lib = document.getElementById("dagre-lib").textContent;
    var code = lib + "\n;var runLayout = " + runLayout.toString() +
      ";\nself.onmessage = function (e) { self.postMessage({seq: e.data.seq, result: runLayout(e.data.job)}); };\n";
    return new Worker(URL.createObjectURL(new Blob([code], {type: "text/javascript"})));
  }
  function layoutAsync(job, done) {
    var seq = ++jobSeq;
    var here = function () { setTimeout(function () { if (seq === jobSeq) done(runLayout(job)); }, 0); };
    if (workerFailed || typeof Worker !== "function") { here(); return; }
    try {
      if (busy && worker) { worker.terminate(); worker = null; }  // latest wins
      if (!worker) worker = makeWorker();
      busy = true;
      worker.onmessage = function (ev) {
        busy = false;
        if (ev.data.seq === jobSeq) done(ev.data.result);
      };
      worker.onerror = function (ev) {  // no worker here after all (a browser's policy): lay out on this thread
        if (ev.preventDefault) ev.preventDefault();
        workerFailed = true;
        busy = false;
        worker = null;
        here();
      };
      worker.postMessage({seq: seq, job: job});
    } catch (err) {
      workerFailed = true;
      worker = null;
      here();
    }
  }

  function curve(points) {
    if (!points || !points.length) return "";
    var p = points, s = "M" + p[0].x.toFixed(1) + "," + p[0].y.toFixed(1);
    if (p.length === 2) return s + "L" + p[1].x.toFixed(1) + "," + p[1].y.toFixed(1);
    for (var i = 1; i < p.length - 1; i++) {
      var mx = (p[i].x + p[i + 1].x) / 2, my = (p[i].y + p[i + 1].y) / 2;
      s += "Q" + p[i].x.toFixed(1) + "," + p[i].y.toFixed(1) + " " + (i === p.length - 2 ? p[i + 1].x.toFixed(1) + "," +
        p[i + 1].y.toFixed(1) : mx.toFixed(1) + "," + my.toFixed(1));
    }
    return s;
  }

  function nodeTitle(n, payload) {
    var flop = payload.flop_label;
    return n.label + "\n" + n.type + " · output " + n.shape +
      "\n" + flop + " " + exact(n.macs) + "\nparams " + exact(n.params) + "\nmemory " + exact(n.memory_bytes) + " B";
  }

  function current() { return state.payload.graphs[state.graph]; }

  // draw the drawing state.graph points at: lay it out (once; kept per drawing), then the SVG.
  // Until it is drawn, the graph shown before stays, greyed and not clickable.
  function drawGraph() {
    var payload = state.payload, index = state.graph, d = current().drawing, host = document.getElementById("graph");
    var started = performance.now();
    document.body.dataset.graph = "layout";
    state.nodeEls = [];
    var old = host.querySelector("svg");
    if (old) old.classList.add("pending"); else host.innerHTML = '<p class="placeholder">laying out ' + d.nodes.length + " boxes…</p>";
    var finish = function (pos) {
      if (state.payload !== payload || state.graph !== index) return;  // a newer graph was asked for meanwhile
      state.layouts[index] = pos;
      render(pos);
      document.body.dataset.drawnMs = String(Math.round(performance.now() - started));
      document.body.dataset.drawnNodes = String(d.nodes.length);
      document.body.dataset.graphAt = String(Math.round(performance.now()));  // since navigation start
      document.body.dataset.graph = "drawn";
      reselect(state.selected);
    };
    if (state.layouts[index]) { finish(state.layouts[index]); return; }
    layoutAsync({
      nodes: d.nodes.map(function (n) { return {id: n.id, width: nodeWidth(n, payload), height: NODE_H, cluster: n.cluster}; }),
      edges: d.edges, clusters: d.clusters.map(function (c) { return {id: c.id, parent: c.parent}; })
    }, finish);
  }

  function render(pos) {
    var payload = state.payload, shown = current(), d = shown.drawing, host = document.getElementById("graph"), out = [];
    state.layout = pos;
    out.push('<svg xmlns="' + SVGNS + '" id="graph-svg" role="img" aria-label="layer graph of ' + esc(d.name) + '">');
    out.push('<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" ' +
      'orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#80868b"/></marker></defs><g class="viewport">');
    out.push('<g class="clusters">');
    d.clusters.forEach(function (c) {
      var b = pos.clusters[c.id];
      if (!b) return;
      out.push('<g class="cluster ' + esc(c.kind) + '" data-cluster="' + esc(c.id) + '"><title>' + esc(c.id + " (" + c.kind + ")") +
        '</title><rect x="' + (b.x - b.width / 2).toFixed(1) + '" y="' + (b.y - b.height / 2).toFixed(1) + '" width="' +
        b.width.toFixed(1) + '" height="' + b.height.toFixed(1) + '" rx="6"/><text x="' + (b.x - b.width / 2 + 5).toFixed(1) +
        '" y="' + (b.y - b.height / 2 + 10).toFixed(1) + '">' + esc(c.label) + "</text></g>");
    });
    out.push('</g><g class="edges">');
    pos.edges.forEach(function (points) {
      if (points) out.push('<path class="edge" marker-end="url(#arrow)" d="' + curve(points) + '"/>');
    });
    out.push('</g><g class="nodes">');
    d.nodes.forEach(function (n, i) {
      var b = pos.nodes[n.id], w = b.width, x = b.x - w / 2, y = b.y - NODE_H / 2, lines = nodeLines(n, payload);
      out.push('<g class="node' + (n.row < 0 ? " input" : "") + '" tabindex="0" data-i="' + i + '" data-row="' + n.row +
        '" data-id="' + esc(n.id) + '" transform="translate(' + x.toFixed(1) + "," + y.toFixed(1) + ')">' +
        "<title>" + esc(nodeTitle(n, payload)) + '</title><rect width="' + w + '" height="' + NODE_H + '" rx="4"/>' +
        '<text class="name" x="8" y="15">' + esc(clip(lines[0], w, NAME_FONT)) + "</text>" +
        '<text x="8" y="31">' + esc(clip(lines[1], w, TEXT_FONT)) + "</text>" +
        '<text x="8" y="46">' + esc(lines[2]) + "</text></g>");
    });
    out.push("</g></g></svg>");
    host.innerHTML = out.join("");
    state.size = {w: pos.width, h: pos.height};
    state.nodeEls = Array.prototype.slice.call(host.querySelectorAll("g.node"));
    state.nodeRows = d.nodes.map(function () { return []; });
    shown.row_nodes.forEach(function (nodes, row) { nodes.forEach(function (i) { state.nodeRows[i].push(row); }); });
    colour();
    bindGraph(host.querySelector("svg"));
    fit(true);
  }

  // a line too long for the widest box loses its middle (the name's start and end say most)
  function clip(text, w, font) {
    if (textWidth(text, font) <= w - 14) return text;
    var keep = text.length;
    while (keep > 4 && textWidth(text.slice(0, Math.ceil(keep / 2)) + "…" + text.slice(text.length - Math.floor(keep / 2)), font) > w - 14) keep--;
    return text.slice(0, Math.ceil(keep / 2)) + "…" + text.slice(text.length - Math.floor(keep / 2));
  }

  // the colour of a node: its share of the measure, scaled by the largest share (darkest)
  var RAMP = [[255, 247, 236], [253, 212, 158], [252, 141, 89], [215, 48, 31], [153, 0, 0]];
  function ramp(t) {
    var x = Math.max(0, Math.min(1, t)) * (RAMP.length - 1), i = Math.min(RAMP.length - 2, Math.floor(x)), f = x - i;
    var c = RAMP[i].map(function (v, j) { return Math.round(v + (RAMP[i + 1][j] - v) * f); });
    return "rgb(" + c.join(",") + ")";
  }
  function colour() {
    var d = current().drawing, key = MEASURE_KEY[state.measure], max = 0;
    d.nodes.forEach(function (n) { if (n.row >= 0 && n[key] > max) max = n[key]; });
    d.nodes.forEach(function (n, i) {
      var el = state.nodeEls[i];
      if (!el || n.row < 0) return;
      var t = max ? Number(n[key]) / Number(max) : 0;
      el.querySelector("rect").setAttribute("fill", ramp(t));
      el.classList.toggle("dark", t > 0.62);
    });
  }

  // ---- pan and zoom: wheel scrolls, Ctrl/⌘+wheel (or pinch) zooms, drag pans ----------------
  function apply() {
    var v = state.view, vp = document.querySelector("#graph g.viewport");
    if (vp) vp.setAttribute("transform", "translate(" + v.x.toFixed(1) + "," + v.y.toFixed(1) + ") scale(" + v.k.toFixed(4) + ")");
  }
  function paneSize() {
    var host = document.getElementById("graph");
    return {w: host.clientWidth || 600, h: host.clientHeight || 400};
  }
  // fit: the whole graph in the pane, but never smaller than READABLE (the boxes' 11 px text at
  // 7.7 px): a graph too big for the pane at that size starts at its top, centred, and pans.
  // A tall graph (a long chain) fits its width and starts at the top.
  var READABLE = 0.7;
  function fit(initial) {
    var p = paneSize(), s = state.size;
    if (!s) return;
    var whole = Math.min(p.w / s.w, p.h / s.h), wide = Math.min(p.w / s.w, 1);
    // first view: full size (or the pane's width) from the top, unless the whole graph fits nearly as big
    var k = !initial ? Math.min(whole, 1.5) : whole >= 0.8 * wide ? Math.min(whole, 1) : Math.min(1, Math.max(wide, 0.8));
    k = Math.max(k, Math.min(READABLE, 1.5));
    state.view = {k: k, x: (p.w - s.w * k) / 2, y: s.h * k <= p.h ? (p.h - s.h * k) / 2 : 0};
    apply();
  }
  function zoom(factor, cx, cy) {
    var v = state.view, p = paneSize();
    if (cx === undefined) { cx = p.w / 2; cy = p.h / 2; }
    var k = Math.max(0.05, Math.min(4, v.k * factor));
    state.view = {k: k, x: cx - (cx - v.x) * (k / v.k), y: cy - (cy - v.y) * (k / v.k)};
    apply();
  }
  function centerOn(el) {
    var i = +el.dataset.i, b = state.layout.nodes[current().drawing.nodes[i].id], p = paneSize(), v = state.view;
    state.view = {k: v.k, x: p.w / 2 - b.x * v.k, y: p.h / 2 - b.y * v.k};
    apply();
  }
  function bindGraph(svg) {
    var drag = null;
    svg.addEventListener("wheel", function (ev) {
      ev.preventDefault();
      var r = svg.getBoundingClientRect();
      if (ev.ctrlKey || ev.metaKey) {
        zoom(Math.exp(-ev.deltaY * 0.0025), ev.clientX - r.left, ev.clientY - r.top);
      } else {
        state.view.x -= ev.deltaX;
        state.view.y -= ev.deltaY;
        apply();
      }
    }, {passive: false});
    svg.addEventListener("pointerdown", function (ev) {
      drag = {x: ev.clientX, y: ev.clientY, vx: state.view.x, vy: state.view.y, moved: false, id: ev.pointerId};
    });
    svg.addEventListener("pointermove", function (ev) {
      if (!drag) return;
      var dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
      if (!drag.moved && Math.abs(dx) + Math.abs(dy) > 4) {
        drag.moved = true;
        svg.setPointerCapture(drag.id);
        svg.classList.add("panning");
      }
      if (drag.moved) { state.view.x = drag.vx + dx; state.view.y = drag.vy + dy; apply(); }
    });
    function end(ev) {
      if (!drag) return;
      var moved = drag.moved;
      drag = null;
      svg.classList.remove("panning");
      if (moved || ev.type !== "pointerup") return;
      var el = ev.target.closest && ev.target.closest("g.node");
      if (el) selectNode(el, "graph");
    }
    svg.addEventListener("pointerup", end);
    svg.addEventListener("pointercancel", end);
    svg.addEventListener("keydown", function (ev) {
      var el = ev.target.closest && ev.target.closest("g.node");
      if (el && (ev.key === "Enter" || ev.key === " ")) { ev.preventDefault(); selectNode(el, "graph"); }
    });
  }

  // ---- selection: a node and its table rows (a folded node holds several) ------------------
  function selectNode(el, from) {
    var i = +el.dataset.i, rows = state.nodeRows[i] || [];
    clearSelection();
    el.classList.add("selected");
    state.selected = {node: current().drawing.nodes[i].id};
    rows.forEach(function (r) { if (state.rowEls[r]) state.rowEls[r].classList.add("selected"); });
    if (from === "graph" && rows.length && state.rowEls[rows[0]]) {
      state.rowEls[rows[0]].scrollIntoView({block: "center", inline: "nearest"});
    }
    if (from !== "graph") centerOn(el);
  }
  function selectRow(row) {
    var nodes = current().row_nodes[row] || [];
    clearSelection();
    state.selected = {row: row};
    if (state.rowEls[row]) state.rowEls[row].classList.add("selected");
    nodes.forEach(function (i) { if (state.nodeEls[i]) state.nodeEls[i].classList.add("selected"); });
    if (nodes.length && state.nodeEls[nodes[0]]) centerOn(state.nodeEls[nodes[0]]);
  }
  function clearSelection() {
    var old = document.querySelectorAll(".selected");
    for (var i = 0; i < old.length; i++) old[i].classList.remove("selected");
    state.selected = null;
  }
  function reselect(keep) {
    if (!keep) return;
    if (keep.row !== undefined && keep.row < state.payload.rows.length) { selectRow(keep.row); return; }
    var d = current().drawing;
    for (var i = 0; i < d.nodes.length; i++) {
      if (d.nodes[i].id === keep.node && state.nodeEls[i]) { selectNode(state.nodeEls[i], "graph"); return; }
    }
  }

  // ---- the table: row links, exact tooltips, share bars, sorting --------------------------
  function enhanceTable() {
    var table = document.querySelector("#table table"), payload = state.payload, rows = payload.rows;
    state.rowEls = [];
    if (!table) return;
    var body = table.tBodies[0], trs = Array.prototype.slice.call(body.rows), i = 0, t = payload.totals;
    trs.forEach(function (tr, order) {
      tr.dataset.order = order;
      if (tr.classList.contains("total")) {
        numberCells(tr, [t.memory_bytes, t.params, t.flop], false);
      } else if (!tr.classList.contains("subtotal") && i < rows.length) {
        tr.dataset.row = i;
        state.rowEls[i] = tr;
        numberCells(tr, [rows[i].memory_bytes, rows[i].params, rows[i].flop], true);
        i++;
      }
    });
    fixSubtotals(trs);
    var layerRows = trs.filter(function (tr) { return !tr.classList.contains("total") && !tr.classList.contains("subtotal"); });
    if (layerRows.length !== rows.length) {
      console.error("cnncalc: the table has " + layerRows.length + " layer rows, the page's data " + rows.length);
    }
    body.addEventListener("click", function (ev) {
      var tr = ev.target.closest("tr[data-row]");
      if (tr) selectRow(+tr.dataset.row);
    });
    var ths = table.tHead.rows[0].cells;
    for (var h = 0; h < ths.length; h++) {
      ths[h].tabIndex = 0;
      ths[h].title = "sort by " + ths[h].textContent;
      ths[h].addEventListener("click", sortBy.bind(null, table, h));
      ths[h].addEventListener("keydown", function (col, ev) {
        if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); sortBy(table, col); }
      }.bind(null, h));
    }
  }

  // the last three cells of a row (memory, params, flop column): the exact value in the title,
  // the row's share of the total as a bar behind the number
  function numberCells(tr, vals, bars) {
    var payload = state.payload, totals = payload.totals, whole = [totals.memory_bytes, totals.params, totals.flop];
    var units = [" B", "", " " + payload.flop_label], cells = tr.cells, n = cells.length;
    for (var c = 0; c < 3; c++) {
      var td = cells[n - 3 + c];
      td.title = exact(vals[c]) + units[c];
      if (bars && Number(whole[c]) > 0) {
        td.classList.add("bar");
        td.style.setProperty("--share", (100 * Number(vals[c]) / Number(whole[c])).toFixed(2) + "%");
      }
    }
  }

  // a subtotal row sums the layer rows of the stage it closes (the rows just above it)
  function fixSubtotals(trs) {
    var rows = state.payload.rows;
    trs.forEach(function (tr, k) {
      if (!tr.classList.contains("subtotal")) return;
      var stage = tr.cells[0].textContent.replace(/ subtotal$/, "").trim(), sums = [0, 0, 0];
      for (var j = k - 1; j >= 0; j--) {
        var prev = trs[j];
        if (prev.dataset.row === undefined) break;
        var r = rows[+prev.dataset.row];
        if (r.name.split(".")[0] !== stage) break;
        sums = [add(sums[0], r.memory_bytes), add(sums[1], r.params), add(sums[2], r.flop)];
      }
      numberCells(tr, sums, false);
    });
  }

  function natural(a, b) {
    var re = /(\d+)/, x = a.split(re), y = b.split(re);
    for (var i = 0; i < Math.min(x.length, y.length); i++) {
      if (x[i] === y[i]) continue;
      if (i % 2 === 1) return cmp(+x[i], +y[i]);
      return cmp(x[i], y[i]);
    }
    return cmp(x.length, y.length);
  }

  // click: numbers largest first, text A to Z; again: the other way; a third time: table order
  function sortBy(table, col) {
    var ths = table.tHead.rows[0].cells, n = ths.length, numeric = col >= n - 3;
    var prev = state.sort && state.sort.col === col ? state.sort.dir : null;
    var first = numeric ? "descending" : "ascending", second = numeric ? "ascending" : "descending";
    var dir = prev === null ? first : prev === first ? second : null;
    for (var h = 0; h < n; h++) ths[h].removeAttribute("aria-sort");
    var body = table.tBodies[0], trs = Array.prototype.slice.call(body.rows);
    var total = trs.filter(function (tr) { return tr.classList.contains("total"); });
    var rest = trs.filter(function (tr) { return !tr.classList.contains("total"); });
    state.sort = dir ? {col: col, dir: dir} : null;
    table.classList.toggle("sorted", !!dir);
    if (!dir) {
      rest.sort(function (a, b) { return a.dataset.order - b.dataset.order; });
    } else {
      ths[col].setAttribute("aria-sort", dir);
      var keys = ["memory_bytes", "params", "flop"], rows = state.payload.rows;
      var key = function (tr) {
        if (tr.dataset.row === undefined) return null;
        if (numeric) return rows[+tr.dataset.row][keys[col - (n - 3)]];
        return tr.cells[col].textContent;
      };
      var sign = dir === "ascending" ? 1 : -1;
      var data = rest.filter(function (tr) { return tr.dataset.row !== undefined; });
      var sub = rest.filter(function (tr) { return tr.dataset.row === undefined; });
      data.sort(function (a, b) {
        var ka = key(a), kb = key(b);
        var c = numeric ? cmp(ka, kb) : natural(ka, kb);
        return c * sign || a.dataset.order - b.dataset.order;
      });
      rest = data.concat(sub);
    }
    rest.concat(total).forEach(function (tr) { body.appendChild(tr); });
  }

  // ---- putting a result on the page ----------------------------------------------------
  function show(result) {
    var chosen = state.chosenDepth;
    state.payload = result.payload;
    state.layouts = {};
    state.graph = result.payload.graph;
    if (chosen !== undefined) {  // the depth the reader picked stays picked while they type
      result.payload.graphs.forEach(function (g, i) { if (g.depth === chosen) state.graph = i; });
    }
    state.sort = null;
    if (result.table !== undefined) document.getElementById("table").innerHTML = result.table;
    if (result.summary !== undefined) document.getElementById("summary").innerHTML = result.summary;
    if (result.caption !== undefined) document.getElementById("caption").textContent = result.caption;
    if (state.payload.title && document.body.classList.contains("mode-serve")) {
      document.getElementById("title").textContent = "cnncalc serve · " + state.payload.title;
    }
    fillDepths();
    enhanceTable();
    drawGraph();  // (the selection is made again once the new graph is drawn)
  }

  // the depth control: each drawing the page holds (depth 1, 2, ..., all), the node count said
  function fillDepths() {
    var sel = document.getElementById("depth");
    if (!sel || !state.payload) return;
    sel.innerHTML = state.payload.graphs.map(function (g, i) {
      var name = g.all ? "all" : String(g.depth);
      return '<option value="' + i + '">' + name + " (" + g.drawing.nodes.length + " boxes)</option>";
    }).join("");
    sel.value = String(state.graph);
    sel.disabled = state.payload.graphs.length < 2;
  }

  function setupTools() {
    var depth = document.getElementById("depth");
    if (depth) {
      fillDepths();
      depth.addEventListener("change", function () {
        state.graph = +depth.value;
        state.chosenDepth = current().depth;
        drawGraph();
      });
    }
    var select = document.getElementById("measure");
    if (select) {
      if (state.payload) select.options[0].textContent = state.payload.flop_label;
      select.value = state.measure;
      select.addEventListener("change", function () { state.measure = select.value; if (state.payload) colour(); });
    }
    var zin = document.getElementById("zoom-in"), zout = document.getElementById("zoom-out"), f = document.getElementById("fit");
    if (zin) zin.addEventListener("click", function () { zoom(1.25); });
    if (zout) zout.addEventListener("click", function () { zoom(0.8); });
    if (f) f.addEventListener("click", function () { fit(false); });
    // print the whole graph: at its own size (or the page's width when wider), cut into slices a
    // page tall, each a copy of the drawing showing one band of it (a browser does not split one
    // tall SVG across pages: the rest would be printed over the table)
    var PAGE_W = 680, PAGE_H = 900;  // CSS px that fit A4 and Letter with the default margins
    window.addEventListener("beforeprint", function () {
      var svg = document.querySelector("#graph svg"), host = document.getElementById("graph");
      if (!svg || !state.size || document.getElementById("print-graph")) return;
      var w = state.size.w, h = state.size.h, k = Math.min(1, PAGE_W / w), band = PAGE_H / k;
      var box = document.createElement("div");
      box.id = "print-graph";
      for (var y = 0; y < h; y += band) {
        var copy = svg.cloneNode(true), part = Math.min(band, h - y);
        copy.removeAttribute("id");
        copy.setAttribute("viewBox", "0 " + y.toFixed(1) + " " + w.toFixed(1) + " " + part.toFixed(1));
        copy.style.width = (w * k).toFixed(1) + "px";
        copy.style.height = (part * k).toFixed(1) + "px";
        copy.querySelector("g.viewport").removeAttribute("transform");
        box.appendChild(copy);
      }
      host.appendChild(box);
    });
    window.addEventListener("afterprint", function () {
      var box = document.getElementById("print-graph");
      if (box) box.remove();
    });
  }

  // the border between the left pane (graph, or editor) and the rest can be dragged
  function setupSplitter() {
    var main = document.querySelector("main.split, main.live");
    if (!main) return;
    var left = main.firstElementChild, bar = document.createElement("div");
    // the report's first split: the whole table, if the screen leaves the graph 260 px or more
    var table = document.querySelector("#table table");
    if (main.classList.contains("split") && table) {
      var room = main.clientWidth - table.offsetWidth - 40;
      main.style.setProperty("--left", Math.max(260, Math.min(room, 0.5 * main.clientWidth)) + "px");
      fit(true);
    }
    bar.className = "splitter";
    bar.title = "drag to resize";
    left.appendChild(bar);
    bar.addEventListener("pointerdown", function (ev) {
      ev.preventDefault();
      bar.setPointerCapture(ev.pointerId);
      bar.classList.add("dragging");
      var move = function (e) {
        var r = main.getBoundingClientRect(), pct = Math.max(15, Math.min(80, 100 * (e.clientX - r.left) / r.width));
        main.style.setProperty("--left", pct.toFixed(1) + "%");
      };
      var up = function () {
        bar.classList.remove("dragging");
        bar.removeEventListener("pointermove", move);
        bar.removeEventListener("pointerup", up);
        if (state.payload) fit(false);
      };
      bar.addEventListener("pointermove", move);
      bar.addEventListener("pointerup", up);
    });
  }

  // ---- the live editor (cnncalc serve) ---------------------------------------------------
  function setupEditor(data) {
    var ta = document.getElementById("yaml"), gutter = document.getElementById("gutter"), box = document.getElementById("editor");
    var messages = document.getElementById("messages"), status = document.getElementById("status");
    var marks = [], seq = 0, timer = null, controller = null, lines = -1;
    // this page's id: the server stops an analysis of this editor's text when a newer one arrives
    var editorId = Math.random().toString(36).slice(2) + Date.now().toString(36);
    function lineHeight() { return parseFloat(getComputedStyle(ta).lineHeight) || 18; }
    function renderGutter() {
      var n = ta.value.split("\n").length, byLine = {}, out = [];
      marks.forEach(function (m) { if (m.line) (byLine[m.line] = byLine[m.line] || []).push(m.message); });
      for (var i = 1; i <= n; i++) {
        var s = String(i);
        out.push(byLine[i] ? '<span class="err" data-line="' + i + '" title="' + esc(byLine[i].join("\n")) + '">' + s + "</span>" : s);
      }
      gutter.innerHTML = out.join("\n") + "\n";
      lines = n;
      placeMessages();
    }
    // each error's line: a band behind it, a mark under the column, and the message on one line
    // after the line's text (where the line is long: over its tail, never over the column; else
    // on the line below). The whole message, with the caret, is in the panel under the editor.
    function placeMessages() {
      var old = box.querySelectorAll(".line-msg, .line-band, .col-mark");
      for (var i = 0; i < old.length; i++) old[i].remove();
      gutter.scrollTop = ta.scrollTop;
      var cs = getComputedStyle(ta), lh = lineHeight(), padT = parseFloat(cs.paddingTop) || 0;
      var padL = parseFloat(cs.paddingLeft) || 0, cw = textWidth("0000000000", cs.font) / 10, seen = {};
      var x0 = gutter.offsetWidth, width = ta.clientWidth, text = ta.value.split("\n");
      function add(cls, line, left, w) {
        var div = document.createElement("div");
        div.className = cls;
        div.style.top = (padT + (line - 1) * lh - ta.scrollTop) + "px";
        div.style.left = (x0 + left) + "px";
        if (w !== undefined) div.style.width = Math.max(0, w) + "px";
        div.style.height = lh + "px";
        box.appendChild(div);
        return div;
      }
      marks.forEach(function (m) {
        if (!m.line || seen[m.line]) return;
        seen[m.line] = true;
        add("line-band", m.line, 0, width);
        var src = text[m.line - 1] || "", col = Math.max(1, m.col || 1);
        var token = (src.slice(col - 1).match(/^[^\s,:{}\[\]]+/) || [" "])[0].length;
        var colX = padL + (col - 1) * cw - ta.scrollLeft;
        add("col-mark", m.line, colX, token * cw);
        // where the message goes: after the line's text; else after a short neighbour line's text
        // (covering no text); else over the line's tail past the column; else on the line below
        var room = 260, line = m.line, left = null;
        var endOf = function (k) { return padL + (text[k - 1] || "").length * cw - ta.scrollLeft + 18; };
        [m.line, m.line + 1, m.line - 1].some(function (k) {
          if (k < 1 || (k > text.length && k !== m.line)) return false;
          if (width - endOf(k) >= room) { line = k; left = endOf(k); return true; }
          return false;
        });
        if (left === null && colX + token * cw + 24 <= width - 170) {
          left = Math.max(colX + token * cw + 24, width * 0.45);
        } else if (left === null) {
          line = m.line + 1;
          left = Math.min(Math.max(endOf(line), padL), width - 170);
        }
        var msg = add("line-msg", line, left, width - left - 6);
        msg.dataset.line = m.line;
        // the CLI's message without its file:line:col (the line is where it is shown)
        msg.textContent = m.message.split("\n").map(function (s) { return s.trim(); }).join(" · ")
          .replace(/^.*?:\d+:\d+: /, "");
        msg.title = m.message;
        msg.style.lineHeight = lh + "px";
      });
    }
    function showErrors(errs, message) {
      marks = errs || [];
      messages.textContent = message || "";
      renderGutter();
      document.getElementById("graph-pane").classList.toggle("stale", !!message);
      document.getElementById("table-pane").classList.toggle("stale", !!message);
      status.textContent = message ? (marks.length ? marks.length + " error" + (marks.length > 1 ? "s" : "") +
        "; showing the last good analysis" : "error") : status.textContent;
      status.classList.toggle("bad", !!message);
    }
    function analyse() {
      var mine = ++seq;
      if (controller) controller.abort();
      controller = typeof AbortController === "function" ? new AbortController() : null;
      var started = performance.now();
      status.textContent = "analysing…";
      status.classList.remove("bad");
      var body = JSON.stringify({text: ta.value, editor: editorId});
      fetch("/api/analyze", {method: "POST", headers: {"Content-Type": "application/json"}, body: body,
        signal: controller ? controller.signal : undefined})
        .then(function (r) { return r.text().then(function (text) { return {status: r.status, text: text}; }); })
        .then(function (answer) {
          if (mine !== seq) return;  // a newer request was sent: latest wins
          var res = parseJSON(answer.text);
          if (res && res.superseded) return;  // a newer edit replaced it: its answer is the one to show
          if (answer.status === 503) {  // the server is busy: ask again shortly, unless a newer edit does
            setTimeout(function () { if (mine === seq) analyse(); }, 500);
            return;
          }
          if (res.ok) {
            showErrors([], "");
            show(res);
            status.textContent = state.payload.rows.length + " rows · analysed in " + res.ms.toFixed(0) +
              " ms (page " + (performance.now() - started).toFixed(0) + " ms)";
          } else {
            showErrors(res.errors, res.message);
          }
          document.body.dataset.analysed = String(mine);
        })
        .catch(function (err) {
          if (err && err.name === "AbortError") return;
          if (mine === seq) showErrors([], "cannot reach cnncalc serve: " + err);
        });
    }
    function later() {
      if (timer) clearTimeout(timer);
      timer = setTimeout(analyse, 200);
    }
    ta.addEventListener("input", function () {
      if (ta.value.split("\n").length !== lines) renderGutter();
      later();
    });
    ta.addEventListener("scroll", placeMessages);
    ta.addEventListener("keydown", function (ev) {
      if (ev.key === "Tab" && !ev.shiftKey) {  // YAML indents with spaces
        ev.preventDefault();
        var s = ta.selectionStart;
        ta.setRangeText("  ", s, ta.selectionEnd, "end");
        later();
      }
    });
    showErrors(data.errors ? data.errors.errors : [], data.errors ? data.errors.message : "");
    document.body.dataset.analysed = "0";
  }

  // ---- start -------------------------------------------------------------------------
  function start() {
    var data = parseJSON(document.getElementById("cnncalc-data").textContent);
    state.measure = data.measure || "macs";
    if (data.payload) { state.payload = data.payload; state.graph = data.payload.graph; }
    setupTools();
    if (data.payload) {
      enhanceTable();
      drawGraph();
    }
    if (data.mode === "serve") setupEditor(data);
    window.addEventListener("resize", function () { if (state.payload) fit(false); });
    setupSplitter();
    // for the browser tests and the curious: the state, a row selection, where layouts run
    window.cnncalc = {state: state, selectRow: selectRow,
      layoutThread: function () { return workerFailed || typeof Worker !== "function" ? "page" : "worker"; }};
    document.body.dataset.ready = String(Math.round(performance.now()));
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
