/* stepwork web page: one run — its status, error or result, its events as they arrive, the
 * drawing with its timeline of step invocations, and a form to answer a waiting question.
 *
 * A question is pending when the latest event a person could answer (role input_required in
 * the workflow's graph) has not been answered yet: not from this page, and no step has
 * started on one of the workflow's human-response events since it arrived. The answer form
 * is generated from the JSON schema of the workflow's HumanResponseEvent type(s).
 */
(function () {
  "use strict";

  var ns = (window.StepworkPage = window.StepworkPage || {});
  var el = ns.el;
  var ui = ns.ui;
  var api = ns.api;
  var FINISHED = { completed: 1, failed: 1, timed_out: 1, cancelled: 1 };
  var MAX_EVENTS = 2000;

  function openRun(host, runId, workflowFor) {
    var closed = false;
    var run = null;
    var graph = null;
    var roleOf = ui.roleIndex(null);
    var humanTypes = [];
    var events = [];
    var stateChanges = [];
    var answeredUpTo = -1;
    var questionShown = null;
    var stream = null;
    var traceTimer = null;
    var pollTimer = null;
    var lastTrace = "";
    var finishedAt = null;
    var waitingFor = [];
    var traceBusy = false;
    var traceAgain = false;
    var historyTicks = -1;
    var answeredAtTicks = -1;

    host.textContent = "";
    host.dataset.runId = runId;
    delete host.dataset.status;
    var head = el("div", { className: "pane run-head" }, host);
    var title = el("div", { className: "run-title" }, head);
    el("h2", { text: "Run" }, title);
    el("code", { className: "run-id", text: runId }, title);
    var statusHost = el("span", { id: "run-status" }, title);
    var cancel = el("button", { type: "button", id: "run-cancel", className: "secondary", hidden: "" }, title);
    cancel.textContent = "Cancel run";
    var facts = el("p", { className: "muted run-facts" }, head);
    var lineage = el("div", { id: "run-lineage", className: "run-lineage small" }, head);
    var outcome = el("div", { id: "run-outcome", className: "run-outcome" }, head);

    var grid = el("div", { className: "run-grid" }, host);
    var eventsPane = el("section", { className: "pane events-pane", "aria-label": "Events" }, grid);
    var eventsHead = el("div", { className: "pane-head" }, eventsPane);
    var eventsTitle = el("h2", { text: "Events" }, eventsHead);
    var streamState = el("span", { id: "stream-state", className: "muted small" }, eventsHead);
    var toggleLabel = el("label", { className: "small muted" }, eventsHead);
    var showInternal = el("input", { type: "checkbox", id: "show-internal" }, toggleLabel);
    toggleLabel.appendChild(document.createTextNode(" internal events"));
    var list = el("ol", { id: "event-list", className: "event-list hide-internal" }, eventsPane);
    var emptyNote = el("p", { className: "hint pad", text: "No events yet." }, eventsPane);
    var answerPane = el("section", { id: "answer-pane", className: "pane answer-pane", "aria-label": "Answer" }, grid);
    var drawingHost = el("div", { className: "run-drawing" }, host);
    var debug = ns.openDebug(el("div", { className: "run-debug" }, host), runId, function (forked) {
      window.location.hash = "#/runs/" + encodeURIComponent(forked);
    });
    var historyEntries = [];
    var debugKey = "";
    // A click on a timeline bar opens that invocation's detail (before the drawing's own
    // handler, which stops the click there).
    drawingHost.addEventListener("click", function (event) {
      var bar = event.target && event.target.closest ? event.target.closest(".bar") : null;
      if (bar && bar.dataset.invocation !== undefined) debug.showInvocation(Number(bar.dataset.invocation));
    }, true);

    showInternal.addEventListener("change", function () {
      list.classList.toggle("hide-internal", !showInternal.checked);
    });
    cancel.addEventListener("click", function () {
      cancel.disabled = true;
      api.request("POST", "runs/" + encodeURIComponent(runId) + "/cancel").then(setRun, function (error) {
        cancel.disabled = false;
        ui.complain(error);
      });
    });

    function runLink(id, parentNode) {
      return el("a", { href: "#/runs/" + encodeURIComponent(id), text: id }, parentNode);
    }

    // The run whose step started this one, and the runs this one's steps started (child
    // workflows); a body without `children` (a cancel's answer) keeps the ones shown.
    function showLineage(info, before) {
      if (info.children === undefined && before) info.children = before.children;
      lineage.textContent = "";
      if (info.parent_run_id) {
        var up = el("p", { id: "run-parent", text: "Child of run " }, lineage);
        runLink(info.parent_run_id, up).className = "parent-link";
      }
      var children = info.children || [];
      if (!children.length) return;
      el("div", { className: "box-label", text: "Child runs" }, lineage);
      var items = el("ul", { id: "run-children", className: "child-runs" }, lineage);
      children.forEach(function (child) {
        var item = el("li", { "data-run-id": child.run_id, "data-status": child.status }, items);
        runLink(child.run_id, item);
        item.appendChild(document.createTextNode(" " + child.workflow + " "));
        item.appendChild(ui.chip(child.status));
      });
    }

    function setRun(info) {
      if (closed) return;
      showLineage(info, run);
      run = info;
      host.dataset.status = run.status;
      statusHost.textContent = "";
      statusHost.appendChild(ui.chip(run.status));
      cancel.hidden = Boolean(FINISHED[run.status]);
      facts.textContent = "";
      var link = el("a", { href: "#/workflows/" + encodeURIComponent(run.workflow), text: run.workflow }, facts);
      link.className = "workflow-link";
      facts.appendChild(document.createTextNode(
        " \u00b7 started " + ui.clock(run.created_at) + " \u00b7 updated " + ui.clock(run.updated_at)));
      // A traceback someone opened stays open when the run is drawn again.
      var shown = outcome.querySelector("#run-traceback");
      var traceOpen = Boolean(shown && shown.open);
      outcome.textContent = "";
      if (run.error) {
        var box = el("div", { id: "run-error", className: "error-box" }, outcome);
        el("strong", { text: run.error.type }, box);
        box.appendChild(document.createTextNode(": " + run.error.message));
        if (run.error.step) el("div", { className: "muted", text: "in step " + run.error.step }, box);
        if (run.error.traceback) {
          var trace = el("details", { id: "run-traceback", className: "traceback" }, box);
          el("summary", { text: "Traceback" }, trace);
          el("pre", { text: run.error.traceback }, trace);
          trace.open = traceOpen;
        }
      } else if (run.status === "completed") {
        var result = el("div", { id: "run-result", className: "result-box" }, outcome);
        el("div", { className: "box-label", text: "Result" }, result);
        el("pre", { text: typeof run.result === "string" ? run.result : JSON.stringify(run.result, null, 2) }, result);
      }
      if (FINISHED[run.status] && finishedAt === null) finishedAt = run.updated_at;
      updateAnswer();
      scheduleTrace(0);
    }

    function refreshRun() {
      return api.request("GET", "runs/" + encodeURIComponent(runId)).then(setRun, ui.complain);
    }

    function poll() {
      pollTimer = window.setTimeout(function () {
        if (closed) return;
        if (run && FINISHED[run.status]) return;
        refreshRun().then(poll);
      }, 3000);
    }

    function className(text) {
      // Some engines report "<class 'module.Name'>" here; the name is enough.
      return String(text).replace(/^<class '(?:[\w.]*\.)?(\w+)'>$/, "$1");
    }

    function describe(envelope) {
      var data = envelope.data || {};
      if (envelope.type === "StepStateChanged") {
        return "step " + data.name + " " + String(data.step_state).replace("_", " ") +
          " (worker " + data.worker_id + ", " + className(data.input_event_name) +
          (data.output_event_name ? " \u2192 " + className(data.output_event_name) : "") + ")";
      }
      return ui.shortJson(data, 160);
    }

    function addEvent(envelope) {
      envelope.receivedAt = Date.now() / 1000;
      envelope.role = roleOf(envelope.type, envelope.qualified_name);
      events.push(envelope);
      if (envelope.type === "StepStateChanged") stateChanges.push(envelope);
      emptyNote.hidden = true;
      var item = el("li", { className: "event role-" + envelope.role + (envelope.internal ? " internal" : "") }, list);
      item.dataset.offset = envelope.offset;
      item.dataset.type = envelope.type;
      var line = el("div", { className: "event-line" }, item);
      el("span", { className: "offset", text: "#" + envelope.offset }, line);
      el("span", { className: "event-type", text: envelope.type }, line);
      if (envelope.terminal) el("span", { className: "tag", text: "end" }, line);
      el("span", { className: "event-data", text: describe(envelope) }, line);
      item.addEventListener("click", function () {
        var open = item.querySelector("pre");
        if (open) open.remove();
        else el("pre", { text: JSON.stringify(envelope.data, null, 2) }, item);
      });
      while (list.children.length > MAX_EVENTS) list.removeChild(list.firstChild);
      var visible = events.filter(function (e) { return !e.internal; }).length;
      eventsTitle.textContent = "Events (" + visible + (showInternal.checked ? ", " + events.length + " with internal" : "") + ")";
      list.dataset.count = String(visible);
      if (envelope.type === "StepStateChanged" && envelope.data.step_state === "running" &&
        humanTypes.some(function (node) { return node.label === className(envelope.data.input_event_name); })) {
        answeredUpTo = Math.max(answeredUpTo, envelope.offset);
      }
      if (envelope.terminal) refreshRun();
      updateAnswer();
      scheduleTrace(300);
    }

    // The latest event a person could answer, unless it has been answered since.
    function pendingQuestion() {
      if (!run || FINISHED[run.status]) return null;
      for (var i = events.length - 1; i >= 0; i--) {
        var envelope = events[i];
        if (envelope.offset <= answeredUpTo) return null;
        if (envelope.role === "input_required") return envelope;
      }
      return null;
    }

    function latestVisible() {
      for (var i = events.length - 1; i >= 0; i--) if (!events[i].internal) return events[i];
      return null;
    }

    // Event types the answer form offers: what a waiting step waits for (ctx.wait_for_event;
    // such types need not be in the graph), else the workflow's human-response types.
    function answerTypes() {
      if (!waitingFor.length) return humanTypes;
      return waitingFor.map(function (name) {
        var known = (graph ? graph.nodes : []).filter(function (node) {
          return node.kind === "event" && (node.label === name || node.id === name);
        })[0];
        return known || { label: name, details: { schema: {} } };
      });
    }

    function updateAnswer() {
      var running = Boolean(run && !FINISHED[run.status]);
      var waiting = running && waitingFor.length > 0;
      var question = pendingQuestion() || (waiting ? latestVisible() : null);
      var types = answerTypes();
      var key = "";
      if (question || waiting) key = "q" + (question ? question.offset : "") + "|" + waitingFor.join(",");
      else if (running && types.length) key = "send";
      if (key === questionShown) return;
      questionShown = key;
      answerPane.textContent = "";
      answerPane.hidden = !key;
      grid.classList.toggle("single", !key);
      var asking = key !== "send" && key !== "";
      answerPane.classList.toggle("asking", asking);
      if (!key) return;
      var headRow = el("div", { className: "pane-head" }, answerPane);
      el("h2", { text: asking ? "Waiting for an answer" : "Send an event" }, headRow);
      var body = el("div", { className: "pad" }, answerPane);
      if (question) {
        var asked = el("div", { id: "question", className: "question" }, body);
        el("div", { className: "box-label", text: question.type }, asked);
        var fields = question.data || {};
        Object.keys(fields).forEach(function (name) {
          var row = el("div", { className: "question-field" }, asked);
          el("span", { className: "muted", text: name + ": " }, row);
          el("span", { text: typeof fields[name] === "string" ? fields[name] : JSON.stringify(fields[name]) }, row);
        });
      }
      var collapsible = asking ? body : el("details", {}, body);
      if (!asking) el("summary", { text: "Send a person's answer to this run" }, collapsible);
      buildAnswerForm(collapsible, asking ? question : null, types.length ? types : [{ label: "HumanResponseEvent", details: { schema: {} } }]);
    }

    function buildAnswerForm(host, question, types) {
      var form = el("form", { id: "answer-form", className: "event-form", novalidate: "" }, host);
      var select = null;
      if (types.length > 1) {
        var selectLabel = el("label", { className: "field", text: "Answer with " }, form);
        select = el("select", { id: "answer-type" }, selectLabel);
        types.forEach(function (node, i) { el("option", { value: String(i), text: node.label }, select); });
      }
      if (!select) {
        var sends = el("p", { className: "muted small form-note", text: "Sends the event " }, form);
        el("strong", { text: types[0].label }, sends);
        sends.appendChild(document.createTextNode(" to the run."));
      }
      var fieldsHost = el("div", {}, form);
      var schemaForm = null;
      var build = function () {
        fieldsHost.textContent = "";
        var node = types[select ? Number(select.value) : 0];
        schemaForm = ns.buildSchemaForm((node.details || {}).schema || {}, fieldsHost, { idPrefix: "answer" });
      };
      build();
      if (select) select.addEventListener("change", build);
      var actions = el("div", { className: "actions" }, form);
      var send = el("button", { type: "submit", id: "answer-send", text: question ? "Send answer" : "Send" }, actions);
      var note = el("span", { className: "muted small", id: "answer-note" }, actions);
      // One key per answer until it is acknowledged: sending again after an error or a lost
      // answer is delivered once; the next answer gets a new key.
      var newKey = function () {
        return "page-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
      };
      var sendKey = newKey();
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var read = schemaForm.read();
        if (!read.ok) return;
        var node = types[select ? Number(select.value) : 0];
        send.disabled = true;
        note.textContent = "sending\u2026";
        api.request("POST", "runs/" + encodeURIComponent(runId) + "/events", { type: node.label, data: read.value, idempotency_key: sendKey })
          .then(function () {
            sendKey = newKey();
            note.textContent = "sent";
            if (question) answeredUpTo = Math.max(answeredUpTo, question.offset);
            // Until the history shows more ticks, it still says the step is waiting.
            answeredAtTicks = historyTicks;
            waitingFor = [];
            questionShown = null;
            updateAnswer();
            refreshRun();
          }, function (error) {
            send.disabled = false;
            note.textContent = "";
            if (error.status === 422) schemaForm.showError(error.field, error.message);
            else if (error.status === 409) schemaForm.showError(null, "The run has finished: " + error.message);
            else ui.complain(error);
          });
      });
    }

    // One history request at a time; asking during one runs another right after it.
    function scheduleTrace(delay) {
      if (closed) return;
      if (traceTimer !== null) {
        if (delay > 0) return;
        window.clearTimeout(traceTimer);
      }
      traceTimer = window.setTimeout(function () {
        traceTimer = null;
        if (traceBusy) traceAgain = true;
        else refreshTrace();
      }, delay);
    }

    function refreshTrace() {
      if (!run || !graph || closed) return;
      var info = run;
      traceBusy = true;
      api.request("GET", "runs/" + encodeURIComponent(runId) + "/history").then(function (body) {
        var entries = (body && body.entries) || [];
        historyEntries = entries;
        var trace = ns.traceFromHistory(entries, info, roleOf);
        historyTicks = entries.length;
        var waits = [];
        if (historyTicks > answeredAtTicks) {
          trace.invocations.forEach(function (inv) {
            if (inv.waiting) inv.waits_for.forEach(function (name) { if (waits.indexOf(name) < 0) waits.push(name); });
          });
        }
        if (waits.join() !== waitingFor.join()) {
          waitingFor = waits;
          updateAnswer();
        }
        return trace;
      }, function () {
        var startedAt = events.length ? events[0].receivedAt : info.created_at;
        return ns.traceFromStateChanges(stateChanges, info, startedAt, finishedAt);
      }).then(function (trace) {
        if (closed) return;
        var key = historyEntries.length + "|" + trace.status;
        if (key !== debugKey) {
          debugKey = key;
          debug.render(historyEntries, trace);
        }
        var text = JSON.stringify(trace);
        if (text === lastTrace) return;
        lastTrace = text;
        ui.drawWorkflow(drawingHost, graph, trace, "run-");
        drawingHost.dataset.invocations = String(trace.invocations.length);
        drawingHost.dataset.status = trace.status;
      }).then(function () {
        traceBusy = false;
        if (traceAgain) {
          traceAgain = false;
          refreshTrace();
        }
      });
    }

    refreshRun().then(function () {
      if (closed || !run) return undefined;
      return workflowFor(run.workflow).then(function (workflow) {
        if (closed) return;
        graph = workflow ? workflow.graph : { name: run.workflow, nodes: [], edges: [] };
        roleOf = ui.roleIndex(graph);
        humanTypes = ui.humanResponseNodes(graph);
        questionShown = null;
        updateAnswer();
        stream = api.followEvents(runId, {
          after: -1,
          internal: true,
          onEvent: addEvent,
          onState: function (state, detail) {
            streamState.textContent = state === "live" ? "\u25cf live" : state === "ended" ? "stream ended" :
              state + (detail ? ": " + detail : "");
            streamState.dataset.state = state;
          }
        });
        scheduleTrace(0);
        poll();
      });
    });

    return {
      close: function () {
        closed = true;
        if (stream) stream.close();
        if (traceTimer !== null) window.clearTimeout(traceTimer);
        if (pollTimer !== null) window.clearTimeout(pollTimer);
      }
    };
  }

  ns.openRun = openRun;
})();
