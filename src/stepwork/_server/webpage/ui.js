/* stepwork web page: small pieces the views share (status chips, times, the banner, drawing a
 * workflow with the graph page's code, finding event roles in a workflow's graph).
 */
(function () {
  "use strict";

  var ns = (window.StepworkPage = window.StepworkPage || {});
  var el = ns.el;
  var pageData = JSON.parse(document.getElementById("stepwork-page-data").textContent || "{}");

  function chip(status) {
    return el("span", { className: "chip status-" + status, text: String(status).replace("_", " ") });
  }

  function pad(number) {
    return (number < 10 ? "0" : "") + number;
  }

  function clock(seconds) {
    var date = new Date(seconds * 1000);
    var text = pad(date.getHours()) + ":" + pad(date.getMinutes()) + ":" + pad(date.getSeconds());
    var today = new Date();
    if (date.toDateString() !== today.toDateString()) {
      text = date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate()) + " " + text;
    }
    return text;
  }

  function ago(seconds) {
    var delta = Math.max(0, Date.now() / 1000 - seconds);
    if (delta < 5) return "just now";
    if (delta < 90) return Math.round(delta) + " s ago";
    if (delta < 5400) return Math.round(delta / 60) + " min ago";
    if (delta < 129600) return Math.round(delta / 3600) + " h ago";
    return Math.round(delta / 86400) + " days ago";
  }

  function shortJson(value, max) {
    var text = value === undefined ? "" : JSON.stringify(value);
    if (text === undefined) text = String(value);
    return text.length > max ? text.slice(0, max - 1) + "\u2026" : text;
  }

  var banner = document.getElementById("banner");

  function showBanner(message) {
    banner.textContent = message;
    banner.hidden = !message;
  }

  // An ApiError shown where the user will see it; 401 points at the token field.
  function complain(error) {
    if (error && error.status === 401) {
      showBanner("The server wants a token: enter it at the top right. (" + error.message + ")");
    } else {
      showBanner(error && error.message ? error.message : String(error));
    }
  }

  function roleIndex(graph) {
    var roles = {};
    ((graph && graph.nodes) || []).forEach(function (node) {
      if (node.kind !== "event") return;
      var role = (node.details || {}).role || "event";
      roles[node.id] = role;
      roles[node.label] = role;
      if ((node.details || {}).qualified_name) roles[node.details.qualified_name] = role;
    });
    return function (type, qualifiedName) {
      if (qualifiedName && roles[qualifiedName]) return roles[qualifiedName];
      if (roles[type]) return roles[type];
      if (type === "InputRequiredEvent") return "input_required";
      if (type === "HumanResponseEvent") return "human_response";
      if (type === "StartEvent") return "start";
      if (type === "StopEvent") return "stop";
      return "event";
    };
  }

  function humanResponseNodes(graph) {
    return ((graph && graph.nodes) || []).filter(function (node) {
      return node.kind === "event" && (node.details || {}).role === "human_response";
    });
  }

  /* Draws `graph` (and `trace`) into a fresh block in `host` with the graph page's code.
   * Returns the block's parts: {graphPane, timelinePane, details}. */
  function drawWorkflow(host, graph, trace, idPrefix) {
    host.textContent = "";
    var grid = el("div", { className: "layout" + (trace ? " with-trace" : "") }, host);
    var graphPane = el("section", { className: "pane graph-pane", "aria-label": "Workflow graph" }, grid);
    var head = el("div", { className: "pane-head" }, graphPane);
    el("h2", { text: "Graph" }, head);
    var legend = el("ul", { className: "legend", "aria-label": "Legend" }, head);
    var scroll = el("div", { className: "graph-scroll" }, graphPane);
    var side = el("aside", { className: "side" }, grid);
    var timelinePane = null;
    var timeline = null;
    var timelineLegend = null;
    if (trace) {
      timelinePane = el("section", { className: "pane timeline-pane", "aria-label": "Timeline" }, side);
      var timelineHead = el("div", { className: "pane-head" }, timelinePane);
      el("h2", { text: "Timeline" }, timelineHead);
      timelineLegend = el("ul", { className: "legend", "aria-label": "Outcomes" }, timelineHead);
      timeline = el("div", { className: "timeline" }, timelinePane);
    }
    var detailsPane = el("section", { className: "pane details-pane", "aria-live": "polite" }, side);
    var details = el("div", { className: "details" }, detailsPane);
    window.StepworkDrawing.draw(
      { graph: graph, trace: trace || null, palette: pageData.palette },
      { graph: scroll, legend: legend, details: details, timeline: timeline, timelineLegend: timelineLegend },
      { idPrefix: idPrefix }
    );
    return { grid: grid, side: side, details: details, timelinePane: timelinePane };
  }

  function firstParagraph(text) {
    return String(text || "").split(/\n\s*\n/)[0].replace(/\s+/g, " ").trim();
  }

  ns.ui = {
    chip: chip,
    clock: clock,
    ago: ago,
    shortJson: shortJson,
    showBanner: showBanner,
    complain: complain,
    roleIndex: roleIndex,
    humanResponseNodes: humanResponseNodes,
    drawWorkflow: drawWorkflow,
    firstParagraph: firstParagraph
  };
})();
