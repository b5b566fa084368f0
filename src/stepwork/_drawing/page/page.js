/* stepwork graph page: draws the embedded workflow graph (and a run's trace) as plain SVG.
 *
 * Everything the page needs is in this file and the JSON block #stepwork-data: no network,
 * no libraries. The graph is laid out in layers (ranks by longest path from the start
 * events, cycles broken by a depth-first search, long edges routed through dummy points,
 * a few barycenter sweeps to reduce crossings). When drawing is finished, the body gets
 * data-ready="true" (tests wait for it).
 *
 * Other pages reuse the drawing: without a #stepwork-data block nothing is drawn on load, and
 * window.StepworkDrawing.draw(data, hosts, options) draws into the given elements (the
 * server's web page does this).
 */
(function () {
  "use strict";

  var SVG_NS = "http://www.w3.org/2000/svg";
  var FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", Helvetica, Arial, sans-serif';
  var LABEL_FONT = "600 13px " + FONT;
  var CAPTION_FONT = "11px " + FONT;
  var BADGE_FONT = "700 11px " + FONT;
  var MAX_LABEL = 40;
  var MAX_CAPTION = 48;
  var NODE_H = 46;
  var RANK_GAP = 56;
  var NODE_GAP = 30;
  var DUMMY_GAP = 14;
  var MARGIN = 24;

  var ROLE_NAMES = {
    step: "step",
    event: "event",
    start: "start event",
    stop: "stop event",
    input_required: "asks a person",
    human_response: "a person's answer",
    external: "person",
    resource: "resource",
    workflow: "child workflow"
  };
  var DEFAULT_PALETTE = {
    step: ["#e8eefc", "#3557a8"],
    event: ["#f4f4f5", "#71717a"],
    start: ["#d8f3dc", "#2d6a4f"],
    stop: ["#ffd6d6", "#b23a48"],
    input_required: ["#fff3c4", "#b7791f"],
    human_response: ["#fde2c8", "#c05621"],
    external: ["#fff8e1", "#8d6e00"],
    resource: ["#e6f4f1", "#2c7a7b"],
    workflow: ["#efe5fb", "#6b46c1"]
  };
  var EVENT_ROLES = { event: 1, start: 1, stop: 1, input_required: 1, human_response: 1 };
  var OUTCOME_NAMES = {
    done: "done",
    failed: "failed",
    timed_out: "timed out",
    cancelled: "cancelled",
    interrupted: "interrupted",
    running: "running"
  };

  // -- small helpers ----------------------------------------------------------------------

  function svg(tag, attrs, parent) {
    var node = document.createElementNS(SVG_NS, tag);
    Object.keys(attrs || {}).forEach(function (key) {
      node.setAttribute(key, String(attrs[key]));
    });
    if (parent) parent.appendChild(node);
    return node;
  }

  function html(tag, props, parent) {
    var node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (key) {
      if (key === "text") node.textContent = props[key];
      else if (key === "className") node.className = props[key];
      else node.setAttribute(key, String(props[key]));
    });
    if (parent) parent.appendChild(node);
    return node;
  }

  function svgText(parent, x, y, text, cls) {
    var node = svg("text", { x: x, y: y, "text-anchor": "middle" }, parent);
    if (cls) node.setAttribute("class", cls);
    node.textContent = text;
    return node;
  }

  function shorten(text, max) {
    text = String(text).replace(/\s+/g, " ").trim();
    return text.length > max ? text.slice(0, max - 1) + "\u2026" : text;
  }

  function formatSeconds(seconds) {
    if (seconds < 0.001) return seconds <= 0 ? "0 ms" : (seconds * 1000).toFixed(1) + " ms";
    if (seconds < 1) return Math.round(seconds * 1000) + " ms";
    if (seconds < 60) return Number(seconds.toPrecision(3)) + " s";
    var whole = Math.round(seconds);
    return Math.floor(whole / 60) + " min " + (whole % 60) + " s";
  }

  var measureContext = document.createElement("canvas").getContext("2d");

  function textWidth(text, font) {
    measureContext.font = font;
    return measureContext.measureText(text).width;
  }

  function maxOf(values, start) {
    return values.reduce(function (a, b) { return Math.max(a, b); }, start);
  }

  function plural(count, word) {
    return count + " " + word + (count === 1 ? "" : "s");
  }

  // -- the model ----------------------------------------------------------------------------

  function roleOf(node) {
    if (node.kind === "event") {
      var role = (node.details || {}).role;
      return EVENT_ROLES[role] ? role : "event";
    }
    return ROLE_NAMES[node.kind] ? node.kind : "step";
  }

  function buildModel(data) {
    var graph = data.graph || { nodes: [], edges: [] };
    var trace = data.trace || null;
    var nodes = graph.nodes.map(function (raw) {
      return {
        id: raw.id,
        kind: raw.kind,
        label: raw.label,
        description: raw.description || "",
        details: raw.details || {},
        role: roleOf(raw),
        runs: [],
        arrivals: []
      };
    });
    var byId = {};
    nodes.forEach(function (node) { byId[node.id] = node; });
    var edges = graph.edges.filter(function (edge) {
      return byId[edge.source] && byId[edge.target];
    });
    nodes.forEach(function (node) {
      var cut = node.id.lastIndexOf("/");
      node.group = "";
      if (cut > 0 && node.kind !== "workflow") {
        var prefix = node.id.slice(0, cut + 1);
        nodes.forEach(function (other) {
          var rest = other.id.slice(prefix.length);
          if (other.kind === "workflow" && other.id.indexOf(prefix) === 0 && rest.indexOf("/") < 0) {
            node.group = other.label;
          }
        });
        if (!node.group) node.group = node.id.slice(0, cut);
      }
    });
    if (trace) {
      trace.invocations.forEach(function (run) {
        var node = byId[run.step];
        if (node && node.kind === "step") node.runs.push(run);
      });
      trace.events.forEach(function (event) {
        var node = byId[event.type];
        if (node && node.kind === "event") node.arrivals.push(event);
      });
    }
    return { name: graph.name, description: graph.description || "", nodes: nodes, edges: edges,
      byId: byId, trace: trace, palette: data.palette || DEFAULT_PALETTE, idPrefix: "" };
  }

  function captionOf(node) {
    var parts = [];
    var d = node.details;
    if (node.group) parts.push("in " + node.group);
    if (node.kind === "step") {
      parts.push("step");
      if (typeof d.num_workers === "number") parts.push(plural(d.num_workers, "worker"));
      if (d.retry) parts.push("retries");
      if (d.timeout !== null && d.timeout !== undefined) parts.push("timeout " + formatSeconds(d.timeout));
      if (d.catch_error) parts.push("catches errors");
    } else if (node.kind === "event") {
      parts.push(ROLE_NAMES[node.role]);
      var fields = Object.keys((d.schema || {}).properties || {}).length;
      if (fields) parts.push(plural(fields, "field"));
    } else if (node.kind === "resource") {
      parts.push(d.cache === false ? "resource, not cached" : "resource");
    } else if (node.kind === "external") {
      parts.push("answers the workflow");
    } else {
      parts.push(ROLE_NAMES[node.role] || node.kind);
    }
    return shorten(parts.join(" \u00b7 "), MAX_CAPTION);
  }

  function sizeNodes(model) {
    var traced = Boolean(model.trace);
    model.nodes.forEach(function (node) {
      node.text = shorten(node.label, MAX_LABEL);
      node.caption = captionOf(node);
      var icon = node.kind === "external" ? 22 : 0;
      var inner = Math.max(textWidth(node.text, LABEL_FONT), textWidth(node.caption, CAPTION_FONT));
      node.w = Math.ceil(inner + 30 + icon);
      node.badge = traced ? badgeText(node) : null;
      if (node.badge) {
        // The badge sits in the top-right corner, clear of edges arriving at the middle.
        node.badgeWidth = textWidth(node.badge.text, BADGE_FONT) + 12;
        node.w = Math.max(node.w, Math.ceil(2 * node.badgeWidth + 24));
      }
      node.h = node.kind === "resource" ? NODE_H + 10 : NODE_H;
      node.iconShift = icon / 2;
    });
  }

  // -- layered layout -------------------------------------------------------------------------

  function layout(nodes, edges) {
    var n = nodes.length;
    var index = {};
    nodes.forEach(function (node, i) { index[node.id] = i; });
    var links = [];
    edges.forEach(function (edge) {
      var s = index[edge.source];
      var t = index[edge.target];
      if (s !== t) links.push({ edge: edge, s: s, t: t, reversed: false });
    });
    var indegree = nodes.map(function () { return 0; });
    links.forEach(function (link) { indegree[link.t] += 1; });

    // 1. Break cycles: a depth-first search from the start events; edges back to a node on
    //    the search stack are reversed for layering (and drawn pointing the right way).
    var adjacency = nodes.map(function () { return []; });
    links.forEach(function (link, k) { adjacency[link.s].push(k); });
    var priority = function (i) {
      if (nodes[i].role === "start") return 0;
      return indegree[i] === 0 ? 1 : 2;
    };
    var roots = nodes.map(function (_, i) { return i; }).sort(function (a, b) {
      return priority(a) - priority(b) || a - b;
    });
    var mark = new Array(n).fill(0);
    var postorder = [];
    roots.forEach(function (root) {
      if (mark[root]) return;
      var stack = [[root, 0]];
      mark[root] = 1;
      while (stack.length) {
        var top = stack[stack.length - 1];
        var v = top[0];
        if (top[1] < adjacency[v].length) {
          var link = links[adjacency[v][top[1]]];
          top[1] += 1;
          if (mark[link.t] === 1) link.reversed = true;
          else if (mark[link.t] === 0) {
            mark[link.t] = 1;
            stack.push([link.t, 0]);
          }
        } else {
          mark[v] = 2;
          postorder.push(v);
          stack.pop();
        }
      }
    });
    var topo = postorder.reverse();
    var outs = nodes.map(function () { return []; });
    var ins = nodes.map(function () { return []; });
    links.forEach(function (link) {
      link.from = link.reversed ? link.t : link.s;
      link.to = link.reversed ? link.s : link.t;
      outs[link.from].push(link);
      ins[link.to].push(link);
    });

    // 2. Ranks: longest path from the sources; a source that is not a start event moves down
    //    to sit just above its first consumer.
    var rank = new Array(n).fill(0);
    topo.forEach(function (v) {
      outs[v].forEach(function (link) { rank[link.to] = Math.max(rank[link.to], rank[v] + 1); });
    });
    topo.forEach(function (v) {
      if (!ins[v].length && outs[v].length && nodes[v].role !== "start") {
        var lowest = outs[v].reduce(function (m, link) { return Math.min(m, rank[link.to]); }, Infinity);
        rank[v] = Math.max(0, lowest - 1);
      }
    });
    var seq = new Array(n);
    topo.forEach(function (v, i) { seq[v] = i; });

    // 3. Vertices: the nodes plus one dummy per rank crossed by a long edge.
    var vertices = nodes.map(function (node, i) {
      return { node: node, rank: rank[i], w: node.w, h: node.h, seq: seq[i], up: [], down: [] };
    });
    var connect = function (a, b) {
      vertices[a].down.push(b);
      vertices[b].up.push(a);
    };
    links.forEach(function (link) {
      var previous = link.from;
      link.chain = [link.from];
      // A labelled long edge carries its label on its middle dummy, which is made as wide
      // as the label so that the label gets room of its own.
      var middle = Math.floor((rank[link.from] + rank[link.to]) / 2);
      for (var r = rank[link.from] + 1; r < rank[link.to]; r++) {
        var dummy = vertices.length;
        var labelled = link.edge.label && r === middle;
        var width = labelled ? textWidth(shorten(link.edge.label, 24), CAPTION_FONT) + 10 : 0;
        vertices.push({ node: null, rank: r, w: width, h: 0, seq: seq[link.from] + 0.5, up: [], down: [] });
        if (labelled) link.labelAt = dummy;
        connect(previous, dummy);
        link.chain.push(dummy);
        previous = dummy;
      }
      connect(previous, link.to);
      link.chain.push(link.to);
    });
    var depth = maxOf(vertices.map(function (v) { return v.rank; }), 0) + 1;
    var layers = [];
    for (var r = 0; r < depth; r++) layers.push([]);
    vertices.forEach(function (v, i) { layers[v.rank].push(i); });
    layers.forEach(function (layer) {
      layer.sort(function (a, b) { return vertices[a].seq - vertices[b].seq || a - b; });
    });

    // 4. Order within ranks: barycenter sweeps, keeping the order with the fewest crossings.
    layers = orderLayers(layers, vertices);

    // 5. Coordinates.
    var rankHeight = layers.map(function (layer) {
      return maxOf(layer.map(function (v) { return vertices[v].h; }), 36);
    });
    var rankTop = [];
    var y = MARGIN;
    rankHeight.forEach(function (height, i) {
      rankTop[i] = y;
      y += height + RANK_GAP;
    });
    vertices.forEach(function (v) { v.y = rankTop[v.rank] + rankHeight[v.rank] / 2; });
    placeLayers(layers, vertices);

    var minX = Infinity;
    var maxX = -Infinity;
    vertices.forEach(function (v) {
      minX = Math.min(minX, v.x - v.w / 2);
      maxX = Math.max(maxX, v.x + v.w / 2);
    });
    if (!vertices.length) {
      minX = 0;
      maxX = 0;
    }
    var shift = MARGIN - minX;
    vertices.forEach(function (v) { v.x += shift; });
    nodes.forEach(function (node, i) {
      node.x = vertices[i].x;
      node.y = vertices[i].y;
    });

    var routes = links.map(function (link) {
      var at = link.labelAt === undefined ? null : vertices[link.labelAt];
      return {
        edge: link.edge,
        points: route(link, vertices, rankTop, rankHeight),
        labelAt: at ? { x: at.x, y: at.y } : null
      };
    });
    return {
      width: Math.ceil(maxX - minX + 2 * MARGIN),
      height: Math.ceil(vertices.length ? y - RANK_GAP + MARGIN : 2 * MARGIN),
      routes: routes
    };
  }

  function orderLayers(layers, vertices) {
    var best = layers.map(function (layer) { return layer.slice(); });
    var bestCrossings = countCrossings(layers, vertices);
    for (var iteration = 0; iteration < 16 && bestCrossings > 0; iteration++) {
      var downward = iteration % 2 === 0;
      var r;
      if (downward) {
        for (r = 1; r < layers.length; r++) sortByBarycenter(layers[r], layers[r - 1], vertices, "up");
      } else {
        for (r = layers.length - 2; r >= 0; r--) sortByBarycenter(layers[r], layers[r + 1], vertices, "down");
      }
      var crossings = countCrossings(layers, vertices);
      if (crossings < bestCrossings) {
        bestCrossings = crossings;
        best = layers.map(function (layer) { return layer.slice(); });
      }
    }
    return best;
  }

  function sortByBarycenter(layer, neighbourLayer, vertices, direction) {
    var position = {};
    neighbourLayer.forEach(function (v, i) { position[v] = i; });
    var keys = {};
    layer.forEach(function (v, i) {
      var around = vertices[v][direction];
      if (!around.length) {
        keys[v] = i * (neighbourLayer.length / Math.max(1, layer.length));
        return;
      }
      var sum = 0;
      around.forEach(function (u) { sum += position[u]; });
      keys[v] = sum / around.length;
    });
    var original = layer.slice();
    layer.sort(function (a, b) {
      return keys[a] - keys[b] || original.indexOf(a) - original.indexOf(b);
    });
  }

  function countCrossings(layers, vertices) {
    var total = 0;
    for (var r = 0; r + 1 < layers.length; r++) {
      var position = {};
      layers[r + 1].forEach(function (v, i) { position[v] = i; });
      var segments = [];
      layers[r].forEach(function (v, i) {
        vertices[v].down.forEach(function (u) { segments.push([i, position[u]]); });
      });
      for (var a = 0; a < segments.length; a++) {
        for (var b = a + 1; b < segments.length; b++) {
          var da = segments[a][0] - segments[b][0];
          var db = segments[a][1] - segments[b][1];
          if (da * db < 0) total += 1;
        }
      }
    }
    return total;
  }

  function gapBetween(a, b) {
    return (a.w + b.w) / 2 + (a.node && b.node ? NODE_GAP : DUMMY_GAP);
  }

  function placeLayers(layers, vertices) {
    layers.forEach(function (layer) {
      var x = 0;
      layer.forEach(function (v, i) {
        if (i) x += gapBetween(vertices[layer[i - 1]], vertices[v]);
        vertices[v].x = x;
      });
      var half = x / 2;
      layer.forEach(function (v) { vertices[v].x -= half; });
    });
    for (var iteration = 0; iteration < 24; iteration++) {
      var mode = iteration % 3;
      var order = layers.map(function (_, i) { return i; });
      if (mode === 1) order.reverse();
      order.forEach(function (r) {
        var layer = layers[r];
        var desired = layer.map(function (v) {
          var vertex = vertices[v];
          var around = mode === 0 ? vertex.up : mode === 1 ? vertex.down : vertex.up.concat(vertex.down);
          if (!around.length) return vertex.x;
          var sum = 0;
          around.forEach(function (u) { sum += vertices[u].x; });
          return sum / around.length;
        });
        placeInOrder(layer, desired, vertices);
      });
    }
  }

  // Closest positions to `desired` that keep the layer's order and gaps: blocks of touching
  // vertices sit at the mean of what their members want (the classic pool-adjacent merge).
  function placeInOrder(layer, desired, vertices) {
    var offsets = [];
    var offset = 0;
    layer.forEach(function (v, i) {
      if (i) offset += gapBetween(vertices[layer[i - 1]], vertices[v]);
      offsets.push(offset);
    });
    var blocks = [];
    layer.forEach(function (v, i) {
      var block = { first: i, last: i, sum: desired[i] - offsets[i], count: 1 };
      block.base = block.sum;
      while (blocks.length && blocks[blocks.length - 1].base > block.base) {
        var previous = blocks.pop();
        block = {
          first: previous.first,
          last: block.last,
          sum: previous.sum + block.sum,
          count: previous.count + block.count
        };
        block.base = block.sum / block.count;
      }
      blocks.push(block);
    });
    blocks.forEach(function (block) {
      for (var i = block.first; i <= block.last; i++) vertices[layer[i]].x = block.base + offsets[i];
    });
  }

  function portX(vertex, neighbours, target) {
    if (!vertex.node || neighbours.length < 2) return vertex.x;
    var spread = Math.min(18, (vertex.w * 0.6) / neighbours.length);
    var sorted = neighbours.slice().sort(function (a, b) { return a.x - b.x; });
    var i = sorted.indexOf(target);
    return vertex.x + (i - (sorted.length - 1) / 2) * spread;
  }

  function route(link, vertices, rankTop, rankHeight) {
    var chain = link.chain;
    var points = [];
    chain.forEach(function (vi, j) {
      var v = vertices[vi];
      var downs = v.down.map(function (u) { return vertices[u]; });
      var ups = v.up.map(function (u) { return vertices[u]; });
      if (j === 0) {
        points.push({ x: portX(v, downs, vertices[chain[1]]), y: v.y + v.h / 2 });
      } else if (j === chain.length - 1) {
        points.push({ x: portX(v, ups, vertices[chain[j - 1]]), y: v.y - v.h / 2 });
      } else {
        points.push({ x: v.x, y: rankTop[v.rank] });
        points.push({ x: v.x, y: rankTop[v.rank] + rankHeight[v.rank] });
      }
    });
    if (link.reversed) points.reverse();
    return points;
  }

  function pathData(points) {
    var d = "M" + points[0].x.toFixed(1) + "," + points[0].y.toFixed(1);
    for (var i = 1; i < points.length; i++) {
      var p = points[i - 1];
      var q = points[i];
      if (Math.abs(p.x - q.x) < 0.5) {
        d += " L" + q.x.toFixed(1) + "," + q.y.toFixed(1);
      } else {
        var m = ((p.y + q.y) / 2).toFixed(1);
        d += " C" + p.x.toFixed(1) + "," + m + " " + q.x.toFixed(1) + "," + m + " " +
          q.x.toFixed(1) + "," + q.y.toFixed(1);
      }
    }
    return d;
  }

  // -- drawing the graph ----------------------------------------------------------------------

  function drawGraph(model, host, ui) {
    sizeNodes(model);
    var placed = layout(model.nodes, model.edges);
    var root = svg("svg", {
      width: placed.width,
      height: placed.height,
      viewBox: "0 0 " + placed.width + " " + placed.height,
      role: "img",
      "aria-label": "Graph of " + model.name,
      id: model.idPrefix + "graph"
    }, host);
    var defs = svg("defs", {}, root);
    var marker = svg("marker", {
      id: model.idPrefix + "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5,
      markerWidth: 9, markerHeight: 9, markerUnits: "userSpaceOnUse", orient: "auto-start-reverse"
    }, defs);
    svg("path", { d: "M0,0 L10,5 L0,10 z", fill: "#8c959f" }, marker);
    var edgeLayer = svg("g", { "class": "edges" }, root);
    var nodeLayer = svg("g", { "class": "nodes" }, root);
    var traced = Boolean(model.trace);

    placed.routes.forEach(function (item) {
      var edge = item.edge;
      var target = model.byId[edge.target];
      var source = model.byId[edge.source];
      var dotted = target.kind === "resource" || source.kind === "resource" ||
        edge.label === "runs" || edge.label === "starts" || edge.label === "returns";
      var g = svg("g", { "class": "edge" + (dotted ? " dotted" : "") }, edgeLayer);
      g.dataset.source = edge.source;
      g.dataset.target = edge.target;
      svg("path", { d: pathData(item.points), "marker-end": "url(#" + model.idPrefix + "arrow)" }, g);
      if (edge.label) {
        var a = item.points[0];
        var b = item.points[item.points.length - 1];
        var x = item.labelAt ? item.labelAt.x : (a.x + b.x) / 2;
        var y = item.labelAt ? item.labelAt.y : (a.y + b.y) / 2;
        var text = shorten(edge.label, 24);
        var width = textWidth(text, CAPTION_FONT) + 8;
        svg("rect", { "class": "label-bg", x: x - width / 2, y: y - 8, width: width, height: 16, rx: 3 }, g);
        svgText(g, x, y + 4, text);
      }
      ui.edgeViews.push(g);
    });

    model.nodes.forEach(function (node) {
      var g = svg("g", {
        "class": "node role-" + node.role + (node.group ? " nested" : ""),
        transform: "translate(" + node.x.toFixed(1) + "," + node.y.toFixed(1) + ")",
        tabindex: 0,
        role: "button",
        "aria-label": ROLE_NAMES[node.role] + " " + node.label
      }, nodeLayer);
      g.dataset.id = node.id;
      g.dataset.kind = node.kind;
      g.dataset.role = node.role;
      drawShape(g, node, model.palette[node.role] || DEFAULT_PALETTE[node.role]);
      var cx = node.iconShift;
      svgText(g, cx, -3, node.text, "label");
      svgText(g, cx, 13, node.caption, "caption");
      var title = svg("title", {}, g);
      title.textContent = node.label + (node.description ? "\n\n" + node.description : "");
      if (traced) annotate(g, node);
      node.view = g;
      g.addEventListener("mouseenter", function () { ui.preview({ node: node }); });
      g.addEventListener("mouseleave", function () { ui.unpreview(); });
      g.addEventListener("focus", function () { ui.select({ node: node }); });
      g.addEventListener("click", function (event) {
        event.stopPropagation();
        ui.select({ node: node });
      });
    });
    root.addEventListener("click", function () { ui.select(null); });
    return root;
  }

  function drawShape(g, node, colours) {
    var fill = colours[0];
    var stroke = colours[1];
    var w = node.w;
    var h = node.h;
    var x = -w / 2;
    var y = -h / 2;
    var strong = node.role === "start" || node.role === "stop";
    var base = { "class": "shape", fill: fill, stroke: stroke, "stroke-width": strong ? 2.2 : 1.4 };
    if (node.kind === "resource") {
      var ry = 7;
      base.d = "M" + x + "," + (y + ry) + " A" + w / 2 + "," + ry + " 0 0 1 " + (x + w) + "," + (y + ry) +
        " V" + (y + h - ry) + " A" + w / 2 + "," + ry + " 0 0 1 " + x + "," + (y + h - ry) + " Z";
      svg("path", base, g);
      svg("path", {
        d: "M" + x + "," + (y + ry) + " A" + w / 2 + "," + ry + " 0 0 0 " + (x + w) + "," + (y + ry),
        fill: "none", stroke: stroke, "stroke-width": 1.4
      }, g);
      return;
    }
    base.x = x;
    base.y = y;
    base.width = w;
    base.height = h;
    base.rx = EVENT_ROLES[node.role] || node.kind === "external" ? h / 2 : node.kind === "workflow" ? 3 : 7;
    svg("rect", base, g);
    if (node.kind === "workflow") {
      svg("rect", {
        x: x + 4, y: y + 4, width: w - 8, height: h - 8, rx: 2,
        fill: "none", stroke: stroke, "stroke-width": 1
      }, g);
    }
    if (node.kind === "external") {
      var px = x + 20;
      svg("circle", { cx: px, cy: -7, r: 5, fill: stroke }, g);
      svg("path", { d: "M" + (px - 9) + ",11 a9,9 0 0 1 18,0 z", fill: stroke }, g);
    }
  }

  function badgeText(node) {
    var count = node.kind === "step" ? node.runs.length : node.kind === "event" ? node.arrivals.length : -1;
    if (count <= 0) return null;
    var failed = node.runs.filter(function (run) {
      return run.outcome === "failed" || run.outcome === "timed_out";
    }).length;
    var text = (node.kind === "step" ? "ran " : "") + count + "\u00d7" + (failed ? ", " + failed + " failed" : "");
    return { text: text, failed: failed > 0 };
  }

  function annotate(g, node) {
    // A child workflow runs as a run of its own, so its nodes are not in this trace.
    if ((node.kind !== "step" && node.kind !== "event") || node.id.indexOf("/") >= 0) return;
    if (!node.badge) {
      g.classList.add("idle");
      return;
    }
    var width = node.badgeWidth;
    var badge = svg("g", {
      "class": "badge",
      transform: "translate(" + (node.w / 2 - width + 8) + "," + (-node.h / 2 - 9) + ")"
    }, g);
    svg("rect", { width: width, height: 17, rx: 8.5, fill: node.badge.failed ? "#c0392b" : "#3557a8" }, badge);
    svgText(badge, width / 2, 12.5, node.badge.text);
  }

  function drawLegend(model, host) {
    var present = {};
    model.nodes.forEach(function (node) { present[node.role] = true; });
    Object.keys(ROLE_NAMES).forEach(function (role) {
      if (!present[role]) return;
      var colours = model.palette[role] || DEFAULT_PALETTE[role];
      var item = html("li", {}, host);
      var swatch = html("span", { className: "swatch" + (EVENT_ROLES[role] ? " pill" : "") }, item);
      swatch.style.background = colours[0];
      swatch.style.borderColor = colours[1];
      html("span", { text: ROLE_NAMES[role] }, item);
    });
  }

  // -- the timeline -----------------------------------------------------------------------------

  function niceStep(raw) {
    var power = Math.pow(10, Math.floor(Math.log10(raw)));
    var steps = [1, 2, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * power >= raw) return steps[i] * power;
    return 10 * power;
  }

  function traceEnd(trace) {
    var end = trace.last_at;
    if (trace.ending) end = Math.max(end, trace.ending.at);
    trace.invocations.forEach(function (run) {
      end = Math.max(end, run.ended_at === null ? run.started_at : run.ended_at);
    });
    return end;
  }

  function drawTimeline(model, host, ui) {
    var trace = model.trace;
    var runs = trace.invocations;
    if (!runs.length) {
      html("p", { className: "hint", text: "No step has run yet." }, host);
      return;
    }
    var t0 = trace.started_at;
    var end = traceEnd(trace);
    var span = end - t0;
    var byTime = span > 1e-9;
    var lanes = {};
    var steps = [];
    runs.forEach(function (run) {
      if (!lanes[run.step]) {
        lanes[run.step] = [];
        steps.push(run.step);
      }
      if (lanes[run.step].indexOf(run.worker) < 0) lanes[run.step].push(run.worker);
    });
    var rows = [];
    var rowOf = {};
    steps.forEach(function (step) {
      lanes[step].sort(function (a, b) { return a - b; }).forEach(function (worker, i) {
        rowOf[step + "\u0000" + worker] = rows.length;
        rows.push({ step: step, worker: worker, first: i === 0, lanes: lanes[step].length });
      });
    });
    var rowHeight = 26;
    var barHeight = 18;
    var axisHeight = 24;
    var width = Math.max(420, host.clientWidth - 20);
    var labelWidth = Math.min(180, 44 + maxOf(steps.map(function (s) {
      return textWidth(shorten(s, 22), "600 12px " + FONT);
    }), 0));
    var left = labelWidth;
    var right = width - 16;
    var plot = right - left;
    var height = axisHeight + rows.length * rowHeight + 30;
    var root = svg("svg", {
      width: width, height: height, viewBox: "0 0 " + width + " " + height,
      role: "img", "aria-label": "Timeline of step invocations", id: model.idPrefix + "timeline-svg"
    }, host);
    var timeX = function (t) { return left + ((t - t0) / span) * plot; };

    var axis = svg("g", { "class": "axis" }, root);
    if (byTime) {
      var step = niceStep(span / 5);
      for (var t = 0; t <= span * 1.0001; t += step) {
        var x = timeX(t0 + t);
        svg("line", { x1: x, x2: x, y1: axisHeight - 4, y2: height - 26 }, axis);
        svgText(axis, x, axisHeight - 9, formatSeconds(t));
      }
    }

    rows.forEach(function (row, i) {
      var y = axisHeight + i * rowHeight;
      if (row.first) {
        if (i) svg("line", { "class": "row-sep", x1: 0, x2: width, y1: y, y2: y }, root);
        var name = svg("text", { x: 4, y: y + rowHeight / 2 + 4, "class": "step-name" }, root);
        name.textContent = shorten(row.step, 22);
      }
      if (row.lanes > 1) {
        var worker = svg("text", { x: left - 8, y: y + rowHeight / 2 + 4, "text-anchor": "end", "class": "worker" }, root);
        worker.textContent = "w" + row.worker;
      }
    });

    var slot = plot / runs.length;
    var boxes = {};
    var bars = svg("g", { "class": "bars" }, root);
    runs.forEach(function (run, i) {
      var row = rowOf[run.step + "\u0000" + run.worker];
      var y = axisHeight + row * rowHeight + (rowHeight - barHeight) / 2;
      var x0;
      var x1;
      if (byTime) {
        x0 = timeX(run.started_at);
        x1 = timeX(run.ended_at === null ? end : run.ended_at);
      } else {
        x0 = left + i * slot;
        x1 = x0 + slot - 2;
      }
      var w = Math.max(4, x1 - x0);
      x0 = Math.min(x0, right - w);
      boxes[run.id] = { x0: x0, x1: x0 + w, y: y + barHeight / 2 };
      var g = svg("g", {
        "class": "bar outcome-" + run.outcome, tabindex: 0, role: "button",
        "aria-label": run.step + " #" + run.id + " " + OUTCOME_NAMES[run.outcome]
      }, bars);
      g.dataset.invocation = run.id;
      g.dataset.step = run.step;
      g.dataset.outcome = run.outcome;
      svg("rect", { x: x0, y: y, width: w, height: barHeight, rx: 3 }, g);
      var label = "#" + run.id + (run.attempt > 1 ? " try " + run.attempt : "");
      if (textWidth(label, "600 11px " + FONT) + 8 > w) label = "#" + run.id;
      if (textWidth(label, "600 11px " + FONT) + 8 <= w) {
        var text = svgText(g, x0 + w / 2, y + barHeight / 2 + 4, label);
        text.setAttribute("class", "bar-label");
      }
      var title = svg("title", {}, g);
      title.textContent = invocationSummary(run, trace);
      g.addEventListener("mouseenter", function () { ui.preview({ run: run }); });
      g.addEventListener("mouseleave", function () { ui.unpreview(); });
      g.addEventListener("focus", function () { ui.select({ run: run }); });
      g.addEventListener("click", function (event) {
        event.stopPropagation();
        ui.select({ run: run });
      });
      ui.barViews.push(g);
    });

    runs.forEach(function (run) {
      var before = run.previous_attempt === null ? null : boxes[run.previous_attempt];
      var now = boxes[run.id];
      if (!before || !now) return;
      var mid = (before.x1 + now.x0) / 2;
      svg("path", {
        "class": "retry",
        d: "M" + before.x1 + "," + before.y + " C" + mid + "," + before.y + " " + mid + "," + now.y + " " + now.x0 + "," + now.y
      }, root).dataset.retryOf = run.previous_attempt;
    });

    var bottom = height - 12;
    if (byTime && trace.ending) {
      var endX = timeX(trace.ending.at);
      var ending = svg("g", { "class": "ending" }, root);
      svg("line", { x1: endX, x2: endX, y1: axisHeight - 4, y2: height - 24 }, ending);
      var endLabel = svg("text", { x: endX, y: bottom, "text-anchor": endX > width - 80 ? "end" : "middle" }, ending);
      endLabel.textContent = trace.ending.status.replace("_", " ") + " at " + formatSeconds(trace.ending.at - t0);
    }
    if (!byTime) {
      var note = svg("text", { x: left, y: bottom, "class": "note" }, root);
      note.textContent = "No time passed on the run's clock: bars are in start order.";
    }
    root.addEventListener("click", function () { ui.select(null); });
  }

  function drawOutcomeLegend(trace, host) {
    var seen = {};
    trace.invocations.forEach(function (run) { seen[run.outcome] = true; });
    Object.keys(OUTCOME_NAMES).forEach(function (outcome) {
      if (!seen[outcome]) return;
      var item = html("li", {}, host);
      html("span", { className: "swatch outcome-" + outcome }, item);
      html("span", { text: OUTCOME_NAMES[outcome] }, item);
    });
  }

  function invocationSummary(run, trace) {
    var parts = [run.step + " #" + run.id, "attempt " + run.attempt, OUTCOME_NAMES[run.outcome]];
    if (run.duration !== null) parts.push(formatSeconds(run.duration));
    else parts.push("running for " + formatSeconds(trace.last_at - run.started_at));
    var text = parts.join(" \u00b7 ");
    if (run.error_type) text += "\n" + run.error_type + ": " + run.error_message;
    return text;
  }

  // -- details ----------------------------------------------------------------------------------

  function table(rows, parent) {
    var shown = rows.filter(function (row) {
      return row[1] !== null && row[1] !== undefined && row[1] !== "" && row[1] !== false;
    });
    if (!shown.length) return;
    var body = html("tbody", {}, html("table", {}, parent));
    shown.forEach(function (row) {
      var tr = html("tr", {}, body);
      html("th", { text: row[0], scope: "row" }, tr);
      var cell = html("td", {}, tr);
      if (row[1] instanceof Node) cell.appendChild(row[1]);
      else cell.textContent = row[1] === true ? "yes" : String(row[1]);
    });
  }

  function neighbours(model, node, direction, kinds) {
    var found = [];
    model.edges.forEach(function (edge) {
      var mine = direction === "in" ? edge.target : edge.source;
      var other = model.byId[direction === "in" ? edge.source : edge.target];
      if (mine === node.id && (!kinds || kinds.indexOf(other.kind) >= 0)) {
        found.push(other.label + (edge.label && kinds && kinds.indexOf("resource") >= 0 ? " (" + edge.label + ")" : ""));
      }
    });
    return found.join(", ");
  }

  function showOverview(model, pane) {
    html("h3", { text: model.name }, pane);
    html("p", { className: "kind", text: "workflow" }, pane);
    var count = function (kind) { return model.nodes.filter(function (n) { return n.kind === kind; }).length; };
    table([
      ["steps", count("step")],
      ["events", count("event")],
      ["resources", count("resource") || null],
      ["child workflows", count("workflow") || null]
    ], pane);
    var trace = model.trace;
    if (trace) {
      html("h4", { text: "Run" }, pane);
      var ending = trace.ending;
      table([
        ["run id", trace.run_id],
        ["status", trace.status.replace("_", " ")],
        ["duration", formatSeconds((ending ? ending.at : trace.last_at) - trace.started_at)],
        ["invocations", trace.invocations.length],
        ["events", trace.events.length],
        ["ended by", ending ? ending.step || ending.event_type : null],
        ["result", ending ? ending.result : null]
      ], pane);
      if (ending && ending.error_type) {
        html("p", { className: "error", text: ending.error_type + ": " + ending.error_message }, pane);
      }
    }
    html("p", { className: "hint", text: "Hover over or click a node" + (trace ? " or a bar" : "") + " to see its details." }, pane);
  }

  function showNode(model, node, pane, ui) {
    html("h3", { text: node.label }, pane);
    html("p", { className: "kind", text: ROLE_NAMES[node.role] + (node.group ? " in " + node.group : "") }, pane);
    if (node.description) html("p", { className: "doc", text: node.description }, pane);
    var d = node.details;
    var rows = [["id", node.id !== node.label ? node.id : null]];
    if (node.kind === "step") {
      rows.push(["workers", d.num_workers], ["retry", d.retry], ["timeout", d.timeout === null || d.timeout === undefined ? null : formatSeconds(d.timeout)],
        ["catches errors", d.catch_error], ["accepts", neighbours(model, node, "in", ["event"])],
        ["emits", neighbours(model, node, "out", ["event"])], ["uses", neighbours(model, node, "out", ["resource"])],
        ["runs", neighbours(model, node, "out", ["workflow"])]);
    } else if (node.kind === "event") {
      rows.push(["class", d.qualified_name], ["produced by", neighbours(model, node, "in", null)],
        ["goes to", neighbours(model, node, "out", null)]);
    } else if (node.kind === "resource") {
      rows.push(["type", d.type], ["cached", d.cache === false ? "no" : "yes"], ["used by", neighbours(model, node, "in", null)]);
    } else {
      rows.push(["from", neighbours(model, node, "in", null)], ["to", neighbours(model, node, "out", null)]);
    }
    table(rows, pane);
    if (node.kind === "event" && d.schema && Object.keys(d.schema).length) {
      html("h4", { text: "JSON schema" }, pane);
      html("pre", { text: JSON.stringify(d.schema, null, 2) }, pane);
    }
    if (!model.trace) return;
    if (node.kind === "step") {
      html("h4", { text: node.runs.length ? "Ran " + plural(node.runs.length, "time") : "Did not run" }, pane);
      var list = html("ul", { className: "runs" }, pane);
      node.runs.slice(0, 50).forEach(function (run) {
        var item = html("li", {}, list);
        html("span", { className: "swatch outcome-" + run.outcome }, item);
        var text = html("span", { text: invocationSummary(run, model.trace).split("\n")[0] }, item);
        text.style.cursor = "pointer";
        item.addEventListener("click", function () { ui.select({ run: run }); });
      });
      if (node.runs.length > 50) html("li", { className: "hint", text: "and " + (node.runs.length - 50) + " more" }, list);
    } else if (node.kind === "event") {
      html("h4", { text: node.arrivals.length ? "Arrived " + plural(node.arrivals.length, "time") : "Did not arrive" }, pane);
      if (node.arrivals.length) html("pre", { text: JSON.stringify(node.arrivals[0].data, null, 2) }, pane);
    }
  }

  function eventList(trace, indices) {
    return indices.map(function (i) {
      var event = trace.events[i];
      return event ? event.type + " (" + formatSeconds(event.at - trace.started_at) + ")" : "#" + i;
    }).join(", ");
  }

  function showRun(model, run, pane) {
    var trace = model.trace;
    html("h3", { text: run.step + " #" + run.id }, pane);
    html("p", { className: "kind", text: "invocation \u00b7 " + OUTCOME_NAMES[run.outcome] + (run.waiting ? ", waiting" : "") }, pane);
    table([
      ["attempt", run.attempt],
      ["retry of", run.previous_attempt === null ? null : "#" + run.previous_attempt],
      ["worker", run.worker],
      ["started", "+" + formatSeconds(run.started_at - trace.started_at)],
      ["duration", run.duration === null ? "running for " + formatSeconds(trace.last_at - run.started_at) : formatSeconds(run.duration)],
      ["inputs", eventList(trace, run.inputs)],
      ["woken by", eventList(trace, run.woken_by)],
      ["waits for", run.waits_for.join(", ")],
      ["emitted", eventList(trace, run.emitted)],
      ["retry in", run.retry_delay === null ? null : formatSeconds(run.retry_delay)]
    ], pane);
    if (run.error_type) html("p", { className: "error", text: run.error_type + ": " + run.error_message }, pane);
  }

  // -- wiring ---------------------------------------------------------------------------------

  function makeUi(model, pane) {
    var ui = { pinned: null, edgeViews: [], barViews: [] };
    var render = function (item) {
      pane.textContent = "";
      if (item && item.node) showNode(model, item.node, pane, ui);
      else if (item && item.run) showRun(model, item.run, pane);
      else showOverview(model, pane);
      highlight(item);
    };
    var highlight = function (item) {
      var node = item && item.node ? item.node : null;
      var step = node && node.kind === "step" ? node.id : item && item.run ? item.run.step : null;
      var related = {};
      if (node) {
        related[node.id] = true;
        model.edges.forEach(function (edge) {
          if (edge.source === node.id) related[edge.target] = true;
          if (edge.target === node.id) related[edge.source] = true;
        });
      }
      model.nodes.forEach(function (other) {
        if (!other.view) return;
        other.view.classList.toggle("selected", Boolean(node === other || (item && item.run && other.id === step)));
        other.view.classList.toggle("dim", Boolean(node && !related[other.id]));
      });
      ui.edgeViews.forEach(function (view) {
        var touches = node && (view.dataset.source === node.id || view.dataset.target === node.id);
        view.classList.toggle("active", Boolean(touches));
        view.classList.toggle("dim", Boolean(node && !touches));
      });
      ui.barViews.forEach(function (view) {
        var mine = item && item.run ? view.dataset.invocation === String(item.run.id) : false;
        view.classList.toggle("selected", mine);
        view.classList.toggle("dim", Boolean(step && view.dataset.step !== step));
      });
    };
    ui.select = function (item) {
      ui.pinned = item;
      render(item);
    };
    ui.preview = render;
    ui.unpreview = function () { render(ui.pinned); };
    return ui;
  }

  function drawSummary(model, host) {
    var trace = model.trace;
    host.hidden = false;
    html("span", { className: "chip status-" + trace.status, text: trace.status.replace("_", " ") }, host);
    var ending = trace.ending;
    var facts = ["run " + trace.run_id,
      formatSeconds((ending ? ending.at : trace.last_at) - trace.started_at),
      plural(trace.invocations.length, "invocation")];
    var failed = trace.invocations.filter(function (run) {
      return run.outcome === "failed" || run.outcome === "timed_out";
    }).length;
    if (failed) facts.push(failed + " failed");
    html("span", { className: "muted", text: facts.join(" \u00b7 ") }, host);
    if (ending && ending.error_type) {
      html("span", { className: "error", text: shorten(ending.error_type + ": " + ending.error_message, 160) }, host);
    }
  }

  // Draws data ({graph, trace?, palette?}) into hosts ({graph, legend, details, timeline?,
  // timelineLegend?}); options.idPrefix keeps element ids apart when a page draws several.
  function draw(data, hosts, options) {
    var model = buildModel(data);
    model.idPrefix = (options && options.idPrefix) || "";
    var ui = makeUi(model, hosts.details);
    if (hosts.legend) drawLegend(model, hosts.legend);
    if (model.nodes.length) drawGraph(model, hosts.graph, ui);
    else html("p", { className: "hint", text: "This workflow has no steps." }, hosts.graph);
    if (model.trace && hosts.timeline) {
      if (hosts.timelineLegend) drawOutcomeLegend(model.trace, hosts.timelineLegend);
      drawTimeline(model, hosts.timeline, ui);
    }
    ui.select(null);
    return { model: model, ui: ui };
  }

  function main() {
    var data = JSON.parse(document.getElementById("stepwork-data").textContent);
    document.getElementById("description").textContent = (data.graph || {}).description || "";
    if (data.trace) {
      document.getElementById("layout").classList.add("with-trace");
      document.getElementById("timeline-pane").hidden = false;
    }
    var drawn = draw(data, {
      graph: document.getElementById("graph-scroll"),
      legend: document.getElementById("legend"),
      details: document.getElementById("details"),
      timeline: document.getElementById("timeline"),
      timelineLegend: document.getElementById("timeline-legend")
    });
    if (data.trace) drawSummary(drawn.model, document.getElementById("run-summary"));
  }

  window.StepworkDrawing = { draw: draw, formatSeconds: formatSeconds, html: html, svg: svg };
  if (!document.getElementById("stepwork-data")) return;

  try {
    main();
    document.body.dataset.ready = "true";
  } catch (error) {
    document.body.dataset.ready = "error";
    var box = document.createElement("pre");
    box.className = "page-error";
    box.textContent = "The drawing failed: " + (error && error.stack ? error.stack : error);
    document.body.insertBefore(box, document.body.firstChild);
    console.error(error);
  }
})();
