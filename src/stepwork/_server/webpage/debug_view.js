/* stepwork web page: debugging one run — the detail of a step invocation (input, output,
 * every attempt with its error and traceback, timing, the process that ran it), ctx.store as
 * it was after any tick (a slider over the history, read from runs/{id}/state?at=SEQ), the
 * processes that wrote the journal with crash, resume and takeover markers, and a fork from
 * any history entry.
 *
 * Markers come from the history entries' writer (the process) and epoch (its lease): where the
 * writer changes while the run was running, the earlier process stopped without ending it (a
 * crash marker at its last tick) and the next one resumed it; where the epoch grows, the lease
 * was taken over.
 */
(function () {
  "use strict";

  var ns = (window.StepworkPage = window.StepworkPage || {});
  var el = ns.el;
  var api = ns.api;
  var ui = ns.ui;
  var svg = window.StepworkDrawing.svg; // svg(tag, {attribute: value}, parent)

  function shortWriter(writer) {
    if (!writer) return "unknown process";
    var parts = writer.split(":");
    return parts.length >= 3 ? "pid " + parts[parts.length - 2] + " \u00b7 " + parts[parts.length - 1] : writer;
  }

  function json(value) {
    return value === undefined ? "" : JSON.stringify(value, null, 2);
  }

  /* Stints of one writer and epoch, and the markers between them. */
  function processMarks(entries) {
    var stints = [];
    var marks = [];
    entries.forEach(function (entry, i) {
      var last = stints[stints.length - 1];
      if (last && last.writer === entry.writer && last.epoch === entry.epoch) {
        last.to = entry.at;
        last.lastSeq = entry.seq;
        return;
      }
      if (last) {
        var before = entries[i - 1];
        var newWriter = last.writer !== entry.writer;
        var grew = entry.epoch > last.epoch && last.epoch > 0;
        if (before.status === "running") {
          marks.push({ kind: "crash", at: before.at, seq: before.seq, writer: last.writer,
            text: shortWriter(last.writer) + " stopped without ending the run" });
        }
        marks.push({
          kind: grew ? "takeover" : "resume", at: entry.at, seq: entry.seq, writer: entry.writer,
          text: (grew ? (newWriter ? "taken over by " : "lease taken again by ") : "resumed by ") +
            shortWriter(entry.writer) + (entry.epoch ? " (epoch " + entry.epoch + ")" : "")
        });
      }
      stints.push({ writer: entry.writer, epoch: entry.epoch, from: entry.at, to: entry.at,
        firstSeq: entry.seq, lastSeq: entry.seq });
    });
    return { stints: stints, marks: marks };
  }

  function openDebug(host, runId, onFork) {
    var entries = [];
    var invocations = null;
    var shownInvocation = null;
    var stateSeq = null;
    var stateAsked = 0;

    host.textContent = "";
    var processPane = el("section", { id: "process-pane", className: "pane", "aria-label": "Processes" }, host);
    el("div", { className: "pane-head" }, processPane).appendChild(el("h2", { text: "Processes" }));
    var strip = el("div", { id: "process-strip", className: "process-strip pad" }, processPane);

    var detail = el("section", { id: "invocation-detail", className: "pane invocation-detail", "aria-label": "Invocation", hidden: "" }, host);

    var historyPane = el("section", { id: "history-pane", className: "pane", "aria-label": "History" }, host);
    var historyHead = el("div", { className: "pane-head" }, historyPane);
    el("h2", { text: "History and state" }, historyHead);
    var sliderLabel = el("label", { className: "small muted", text: "state after tick " }, historyHead);
    var slider = el("input", { type: "range", id: "state-slider", min: "0", max: "0", value: "0" }, sliderLabel);
    var sliderValue = el("span", { id: "state-seq", className: "small" }, sliderLabel);
    var historyGrid = el("div", { className: "history-grid" }, historyPane);
    var historyList = el("ol", { id: "history-list", className: "history-list" }, historyGrid);
    var stateBox = el("div", { className: "state-box pad" }, historyGrid);
    var stateTitle = el("div", { className: "box-label", text: "ctx.store" }, stateBox);
    var stateView = el("pre", { id: "state-view", className: "state-view" }, stateBox);

    slider.addEventListener("input", function () { showState(Number(slider.value)); });

    function showState(seq) {
      stateSeq = seq;
      slider.value = String(seq);
      sliderValue.textContent = String(seq);
      Array.prototype.forEach.call(historyList.children, function (item) {
        item.classList.toggle("selected", Number(item.dataset.seq) === seq);
      });
      var asked = ++stateAsked;
      api.request("GET", "runs/" + encodeURIComponent(runId) + "/state" + api.query({ at: seq })).then(function (body) {
        if (asked !== stateAsked) return;
        stateTitle.textContent = "ctx.store after tick " + body.seq + " of " + body.ticks + " (" + body.status + ")";
        stateView.textContent = body.state === null ? "(never written)" : json(body.state);
        stateView.dataset.seq = String(body.seq);
      }, ui.complain);
    }

    function drawStrip(start, end) {
      strip.textContent = "";
      var found = processMarks(entries);
      var writers = [];
      found.stints.forEach(function (stint) { if (writers.indexOf(stint.writer) < 0) writers.push(stint.writer); });
      var width = Math.max(420, strip.clientWidth - 20);
      var left = 170;
      var row = 24;
      var height = writers.length * row + 34;
      var span = Math.max(end - start, 1e-6);
      var x = function (t) { return left + ((t - start) / span) * (width - left - 10); };
      var root = svg("svg", { id: "process-svg", width: width, height: height, viewBox: "0 0 " + width + " " + height, role: "img", "aria-label": "Processes that ran the run" }, strip);
      writers.forEach(function (writer, i) {
        var g = svg("g", { "class": "process" }, root);
        svg("text", { x: 4, y: i * row + 16, "class": "process-name" }, g).textContent = shortWriter(writer);
        svg("title", {}, g).textContent = writer || "ticks written before envelopes existed";
      });
      found.stints.forEach(function (stint) {
        var i = writers.indexOf(stint.writer);
        var x0 = x(stint.from);
        var seg = svg("rect", { "class": "stint", x: x0, y: i * row + 5, width: Math.max(4, x(stint.to) - x0), height: 14, rx: 3 }, root);
        seg.dataset.writer = stint.writer;
        svg("title", {}, seg).textContent = shortWriter(stint.writer) + ", epoch " + stint.epoch + ": ticks " + stint.firstSeq + "\u2013" + stint.lastSeq;
      });
      found.marks.forEach(function (mark) {
        var g = svg("g", { "class": "marker marker-" + mark.kind }, root);
        g.dataset.kind = mark.kind;
        g.dataset.seq = String(mark.seq);
        var mx = x(mark.at);
        svg("line", { x1: mx, x2: mx, y1: 0, y2: height - 18 }, g);
        var text = svg("text", { x: mx, y: height - 4, "text-anchor": mx > width - 120 ? "end" : "middle" }, g);
        text.textContent = mark.kind === "crash" ? "\u2715 crash" : mark.kind === "takeover" ? "\u21c4 takeover" : "\u21bb resume";
        svg("title", {}, g).textContent = mark.text + " (tick " + mark.seq + ")";
      });
      strip.dataset.marks = found.marks.map(function (mark) { return mark.kind; }).join(",");
      return found.marks;
    }

    function drawHistory(marks) {
      historyList.textContent = "";
      var start = entries.length ? entries[0].at : 0;
      entries.forEach(function (entry) {
        var item = el("li", { className: "history-entry" }, historyList);
        item.dataset.seq = String(entry.seq);
        var line = el("div", { className: "event-line" }, item);
        el("span", { className: "offset", text: "#" + entry.seq }, line);
        el("span", { className: "muted small", text: "+" + window.StepworkDrawing.formatSeconds(entry.at - start) }, line);
        el("span", { className: "event-data", text: entry.summary }, line);
        marks.filter(function (mark) { return mark.seq === entry.seq; }).forEach(function (mark) {
          el("span", { className: "tag tag-" + mark.kind, text: mark.kind, title: mark.text }, line);
        });
        var fork = el("button", { type: "button", className: "secondary small fork-button", text: "fork here" }, line);
        fork.title = "Start a new run from the first " + (entry.seq + 1) + " ticks of this one";
        fork.addEventListener("click", function (event) {
          event.stopPropagation();
          fork.disabled = true;
          api.request("POST", "runs/" + encodeURIComponent(runId) + "/fork", { at: entry.seq + 1 }).then(function (info) {
            onFork(info.run_id);
          }, function (error) {
            fork.disabled = false;
            ui.complain(error);
          });
        });
        if (entry.effects && entry.effects.length) el("div", { className: "muted small effects", text: entry.effects.join(" \u00b7 ") }, item);
        item.addEventListener("click", function () { showState(entry.seq); });
      });
    }

    function attemptsOf(inv) {
      return (invocations || []).filter(function (other) { return other.step === inv.step && other.delivery === inv.delivery; });
    }

    function drawInvocation() {
      detail.textContent = "";
      var inv = (invocations || []).filter(function (item) { return item.id === shownInvocation; })[0];
      detail.hidden = !inv;
      if (!inv) return;
      detail.dataset.invocation = String(inv.id);
      var head = el("div", { className: "pane-head" }, detail);
      el("h2", { text: "Step " + inv.step + " \u00b7 invocation #" + inv.id }, head);
      el("span", { className: "chip status-" + inv.outcome, text: inv.outcome }, head);
      var close = el("button", { type: "button", className: "secondary", id: "invocation-close", text: "Close" }, head);
      close.addEventListener("click", function () { shownInvocation = null; drawInvocation(); });
      var body = el("div", { className: "pad invocation-body" }, detail);
      var took = inv.ended_at === null ? "running" : window.StepworkDrawing.formatSeconds(inv.ended_at - inv.started_at);
      el("p", { className: "muted small", id: "invocation-facts", text: "started " + ui.clock(inv.started_at) + " (tick " + inv.started_seq + ")" +
        (inv.ended_seq === null ? "" : ", ended tick " + inv.ended_seq) + " \u00b7 took " + took +
        " \u00b7 ran in " + shortWriter(inv.started_by) + (inv.epoch ? " (epoch " + inv.epoch + ")" : "") }, body);
      el("div", { className: "box-label", text: "Input" }, body);
      el("pre", { id: "invocation-input", className: "state-view", text: json(inv.input) }, body);
      if (inv.outcome === "done") {
        el("div", { className: "box-label", text: "Output" }, body);
        el("pre", { id: "invocation-output", className: "state-view", text: json(inv.output) }, body);
      }
      var attempts = attemptsOf(inv);
      el("div", { className: "box-label", text: "Attempts (" + attempts.length + ")" }, body);
      var list = el("ol", { id: "invocation-attempts", className: "attempts" }, body);
      attempts.forEach(function (attempt) {
        var item = el("li", { className: "attempt outcome-" + attempt.outcome + (attempt.id === inv.id ? " selected" : "") }, list);
        item.dataset.attempt = String(attempt.attempt);
        item.dataset.outcome = attempt.outcome;
        var took2 = attempt.ended_at === null ? "running" : window.StepworkDrawing.formatSeconds(attempt.ended_at - attempt.started_at);
        el("div", { text: "attempt " + attempt.attempt + " (#" + attempt.id + "): " + attempt.outcome + ", " + took2 +
          (attempt.retry_delay !== null ? ", retried after " + attempt.retry_delay + " s" : "") }, item);
        if (attempt.error_type) {
          el("div", { className: "error-text", text: attempt.error_type + ": " + attempt.error_message }, item);
          if (attempt.traceback) {
            var trace = el("details", { className: "traceback" }, item);
            el("summary", { text: "Traceback" }, trace);
            el("pre", { text: attempt.traceback }, trace);
          }
        }
      });
    }

    function loadInvocations() {
      return api.request("GET", "runs/" + encodeURIComponent(runId) + "/invocations").then(function (body) {
        invocations = (body && body.invocations) || [];
        drawInvocation();
      }, ui.complain);
    }

    return {
      /* The history entries changed (or the drawing was redrawn). */
      render: function (newEntries, trace) {
        entries = newEntries;
        var last = entries.length ? entries.length - 1 : 0;
        var follow = stateSeq === null || stateSeq === Number(slider.max);
        slider.max = String(last);
        var end = trace && trace.ending ? trace.ending.at : (entries.length ? entries[last].at : 0);
        var marks = drawStrip(entries.length ? entries[0].at : 0, end);
        drawHistory(marks);
        historyPane.dataset.entries = String(entries.length);
        if (entries.length) showState(follow ? last : stateSeq);
        if (shownInvocation !== null) loadInvocations();
      },
      showInvocation: function (id) {
        shownInvocation = id;
        loadInvocations().then(function () { detail.scrollIntoView({ block: "nearest" }); });
      }
    };
  }

  ns.openDebug = openDebug;
  ns.processMarks = processMarks;
})();
