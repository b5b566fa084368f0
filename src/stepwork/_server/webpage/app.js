/* stepwork web page: the views and the routing between them.
 *
 * #/workflows[/NAME]  the workflows, one drawn with its start form
 * #/runs[?workflow=W&status=S&q=TEXT&page=N]  the runs, a page of RUNS_PAGE at a time (the
 *   server filters and pages), refreshed every few seconds while shown
 * #/runs/ID  one run (see run_view.js)
 * #/schedules  the store's schedules (see schedules_view.js)
 *
 * When the first view has loaded, the body gets data-ready="true" (tests wait for it).
 */
(function () {
  "use strict";

  var ns = (window.StepworkPage = window.StepworkPage || {});
  var el = ns.el;
  var ui = ns.ui;
  var api = ns.api;
  var RUNS_REFRESH_MS = 2000;
  var RUNS_PAGE = 50;
  var runsPage = 0;

  var workflows = null;
  var byName = {};
  var runsTimer = null;
  var runsGeneration = 0;
  var currentRun = null;
  var shownWorkflow = null;

  function loadWorkflows() {
    return api.request("GET", "workflows").then(function (body) {
      // "details" since the list's "workflows" became names, as LlamaIndex Workflows' server has it.
      workflows = (body && (body.details || body.workflows)) || [];
      byName = {};
      workflows.forEach(function (workflow) { byName[workflow.name] = workflow; });
      var filter = document.getElementById("filter-workflow");
      var chosen = filter.value;
      filter.length = 1;
      workflows.forEach(function (workflow) { el("option", { value: workflow.name, text: workflow.name }, filter); });
      filter.value = byName[chosen] ? chosen : "";
      ui.showBanner("");
      return workflows;
    });
  }

  function workflowFor(name) {
    if (byName[name]) return Promise.resolve(byName[name]);
    return api.request("GET", "workflows/" + encodeURIComponent(name)).catch(function () { return null; });
  }

  // -- workflows ----------------------------------------------------------------------------

  function showWorkflows(name) {
    var list = document.getElementById("workflow-list");
    list.textContent = "";
    if (!workflows.length) {
      el("li", { className: "hint pad", text: "The server has no workflows." }, list);
      document.getElementById("workflow-detail").textContent = "";
      return;
    }
    var selected = byName[name] || workflows[0];
    workflows.forEach(function (workflow) {
      var item = el("li", { className: workflow === selected ? "selected" : "" }, list);
      var link = el("a", { href: "#/workflows/" + encodeURIComponent(workflow.name) }, item);
      el("span", { className: "item-name", text: workflow.name }, link);
      var about = ui.firstParagraph(workflow.description);
      if (about) ns.docText(el("span", { className: "item-about muted" }, link), about);
    });
    if (shownWorkflow !== selected) showWorkflow(selected);
  }

  function showWorkflow(workflow) {
    shownWorkflow = workflow;
    var host = document.getElementById("workflow-detail");
    host.textContent = "";
    host.dataset.workflow = workflow.name;
    var head = el("div", { className: "pane workflow-head" }, host);
    var titleRow = el("div", { className: "run-title" }, head);
    el("h2", { text: workflow.name }, titleRow);
    el("a", { href: "#/runs?workflow=" + encodeURIComponent(workflow.name), text: "its runs \u2192" }, titleRow);
    if (workflow.description) ns.docText(el("p", { className: "doc" }, head), workflow.description);
    var drawing = el("div", { className: "workflow-drawing" }, host);
    var parts = ui.drawWorkflow(drawing, workflow.graph, null, "wf-");
    var startPane = el("section", { className: "pane start-pane", "aria-label": "Start a run" }, null);
    parts.side.insertBefore(startPane, parts.side.firstChild);
    el("div", { className: "pane-head" }, startPane).appendChild(el("h2", { text: "Start a run" }));
    var form = el("form", { id: "start-form", className: "event-form pad", novalidate: "" }, startPane);
    var schemaForm = ns.buildSchemaForm(workflow.start_schema || {}, form, { idPrefix: "start" });
    var actions = el("div", { className: "actions" }, form);
    var button = el("button", { type: "submit", id: "start-run", text: "Start run" }, actions);
    var note = el("span", { className: "muted small", id: "start-note" }, actions);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var read = schemaForm.read();
      if (!read.ok) return;
      button.disabled = true;
      note.textContent = "starting\u2026";
      api.request("POST", "workflows/" + encodeURIComponent(workflow.name) + "/runs", { input: read.value })
        .then(function (info) {
          window.location.hash = "#/runs/" + encodeURIComponent(info.run_id);
        }, function (error) {
          button.disabled = false;
          note.textContent = "";
          if (error.status === 422) schemaForm.showError(error.field, error.message);
          else ui.complain(error);
        });
    });
  }

  // -- runs -----------------------------------------------------------------------------------

  function filters() {
    return {
      workflow: document.getElementById("filter-workflow").value,
      status: document.getElementById("filter-status").value,
      q: document.getElementById("filter-text").value.trim()
    };
  }

  // One more run than a page is asked for, to know whether there is an older page.
  function loadRuns() {
    var query = filters();
    query.limit = RUNS_PAGE + 1;
    query.offset = runsPage * RUNS_PAGE;
    return api.request("GET", "runs" + api.query(query))
      .then(function (body) {
        var runs = (body && body.runs) || [];
        renderRuns(runs.slice(0, RUNS_PAGE));
        document.getElementById("runs-prev").disabled = runsPage === 0;
        document.getElementById("runs-next").disabled = runs.length <= RUNS_PAGE;
        document.getElementById("runs-page").textContent = runs.length || runsPage ?
          "runs " + (runsPage * RUNS_PAGE + 1) + "\u2013" + (runsPage * RUNS_PAGE + Math.min(runs.length, RUNS_PAGE)) : "";
        ui.showBanner("");
      }, ui.complain);
  }

  function renderRuns(runs) {
    var rows = document.getElementById("run-rows");
    rows.textContent = "";
    document.getElementById("runs-empty").hidden = runs.length > 0;
    runs.forEach(function (run) {
      var row = el("tr", {}, rows);
      row.dataset.runId = run.run_id;
      row.dataset.status = run.status;
      var link = el("a", { href: "#/runs/" + encodeURIComponent(run.run_id) }, el("td", {}, row));
      el("code", { text: run.run_id }, link);
      el("td", { text: run.workflow }, row);
      el("td", {}, row).appendChild(ui.chip(run.status));
      el("td", { text: ui.clock(run.created_at) }, row);
      el("td", { className: "muted", text: ui.ago(run.updated_at) }, row);
      var outcome = el("td", { className: "outcome" }, row);
      if (run.error) {
        outcome.classList.add("error");
        outcome.textContent = run.error.type + ": " + run.error.message;
      } else if (run.status === "completed") {
        outcome.textContent = ui.shortJson(run.result, 80);
      }
    });
    rows.dataset.loaded = "true";
  }

  function refreshRunsSoon() {
    var generation = runsGeneration;
    runsTimer = window.setTimeout(function () {
      if (generation !== runsGeneration) return undefined;
      if (document.hidden) return refreshRunsSoon();
      return loadRuns().then(function () { if (generation === runsGeneration) refreshRunsSoon(); });
    }, RUNS_REFRESH_MS);
  }

  function showRuns(params) {
    if (params.workflow !== undefined) document.getElementById("filter-workflow").value = byName[params.workflow] ? params.workflow : "";
    if (params.status !== undefined) document.getElementById("filter-status").value = params.status;
    document.getElementById("filter-text").value = params.q || "";
    runsPage = Math.max(0, parseInt(params.page, 10) || 0);
    return loadRuns().then(refreshRunsSoon);
  }

  // -- routing ----------------------------------------------------------------------------------

  function parseHash() {
    var hash = window.location.hash.replace(/^#\/?/, "");
    var cut = hash.indexOf("?");
    var path = (cut < 0 ? hash : hash.slice(0, cut)).split("/").map(decodeURIComponent);
    var params = {};
    if (cut >= 0) {
      hash.slice(cut + 1).split("&").forEach(function (pair) {
        var eq = pair.indexOf("=");
        if (eq > 0) params[decodeURIComponent(pair.slice(0, eq))] = decodeURIComponent(pair.slice(eq + 1));
      });
    }
    return { section: path[0] || "workflows", name: path.slice(1).join("/"), params: params };
  }

  function show(view) {
    ["workflows", "runs", "run", "schedules"].forEach(function (name) {
      document.getElementById("view-" + name).hidden = name !== view;
      document.getElementById("tab-" + name).classList.toggle("active", name === view);
    });
  }

  function route() {
    if (runsTimer !== null) window.clearTimeout(runsTimer);
    runsTimer = null;
    runsGeneration += 1;
    if (currentRun) currentRun.close();
    currentRun = null;
    var where = parseHash();
    var loaded = workflows ? Promise.resolve(workflows) : loadWorkflows();
    return loaded.then(function () {
      if (where.section === "runs" && where.name) {
        var tab = document.getElementById("tab-run");
        tab.hidden = false;
        tab.href = "#/runs/" + encodeURIComponent(where.name);
        show("run");
        currentRun = ns.openRun(document.getElementById("view-run"), where.name, workflowFor);
        return undefined;
      }
      if (where.section === "runs") {
        show("runs");
        return showRuns(where.params);
      }
      if (where.section === "schedules") {
        show("schedules");
        return ns.showSchedules();
      }
      show("workflows");
      showWorkflows(where.name);
      return undefined;
    }).catch(ui.complain);
  }

  function setUpToken() {
    var input = document.getElementById("token");
    var state = document.getElementById("token-state");
    var describe = function () { state.textContent = api.getToken() ? "set" : ""; };
    input.value = api.getToken();
    describe();
    document.getElementById("token-form").addEventListener("submit", function (event) {
      event.preventDefault();
      api.setToken(input.value.trim());
      describe();
      workflows = null;
      shownWorkflow = null;
      route();
    });
  }

  function goToRuns(page) {
    var query = filters();
    query.page = page || "";
    var hash = "#/runs" + api.query(query);
    if (window.location.hash !== hash) window.location.hash = hash;
    else loadRuns();
  }

  function setUpFilters() {
    ["filter-workflow", "filter-status", "filter-text"].forEach(function (id) {
      document.getElementById(id).addEventListener("change", function () { goToRuns(0); });
    });
    document.getElementById("run-filters").addEventListener("submit", function (event) {
      event.preventDefault();
      goToRuns(0);
    });
    document.getElementById("runs-prev").addEventListener("click", function () { goToRuns(runsPage - 1); });
    document.getElementById("runs-next").addEventListener("click", function () { goToRuns(runsPage + 1); });
  }

  setUpToken();
  setUpFilters();
  window.addEventListener("hashchange", route);
  route().then(function () { document.body.dataset.ready = "true"; });
})();
