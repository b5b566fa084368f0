/* stepwork web page: the Schedules view (#/schedules).
 *
 * Lists the store's schedules (GET /schedules) with their rule, state, next slot and last
 * run, and pauses, resumes or deletes one (POST /schedules/NAME/pause|resume, DELETE
 * /schedules/NAME, after a second click to confirm), then lists them again. Adding a schedule is for the CLI and the API.
 * The table's tbody gets data-loaded="true" once rows are shown (tests wait for it).
 */
(function () {
  "use strict";

  var ns = (window.StepworkPage = window.StepworkPage || {});
  var el = ns.el;
  var ui = ns.ui;
  var api = ns.api;

  function rule(schedule) {
    if (schedule.cron) return schedule.tz === "UTC" ? schedule.cron : schedule.cron + " (" + schedule.tz + ")";
    return "every " + schedule.every + " s";
  }

  function act(method, path) {
    return api.request(method, path).then(showSchedules, ui.complain);
  }

  function render(schedules) {
    var rows = document.getElementById("schedule-rows");
    rows.textContent = "";
    document.getElementById("schedules-empty").hidden = schedules.length > 0;
    schedules.forEach(function (schedule) {
      var path = "schedules/" + encodeURIComponent(schedule.name);
      var row = el("tr", {}, rows);
      row.dataset.schedule = schedule.name;
      row.dataset.state = schedule.paused ? "paused" : "active";
      el("code", { text: schedule.name }, el("td", {}, row));
      el("td", { text: schedule.workflow }, row);
      el("td", { text: rule(schedule) }, row);
      el("td", { text: schedule.missed }, row);
      el("td", {}, row).appendChild(ui.chip(schedule.paused ? "paused" : "active"));
      el("td", { text: schedule.next_at ? ui.clock(schedule.next_at) : "\u2014" }, row);
      var last = el("td", {}, row);
      if (schedule.last_run) el("code", { text: schedule.last_run }, el("a", { href: "#/runs/" + encodeURIComponent(schedule.last_run) }, last));
      else last.textContent = "\u2014";
      var actions = el("td", { className: "actions" }, row);
      var toggle = el("button", { type: "button", className: "secondary", text: schedule.paused ? "Resume" : "Pause" }, actions);
      toggle.dataset.action = schedule.paused ? "resume" : "pause";
      toggle.addEventListener("click", function () {
        toggle.disabled = true;
        act("POST", path + "/" + toggle.dataset.action);
      });
      var remove = el("button", { type: "button", className: "secondary", text: "Delete" }, actions);
      remove.dataset.action = "delete";
      // A second click confirms (a blocking confirm() dialog would stop the page's timers).
      remove.addEventListener("click", function () {
        if (remove.dataset.armed !== "true") {
          remove.dataset.armed = "true";
          remove.textContent = "Delete? (the runs stay)";
          return;
        }
        remove.disabled = true;
        act("DELETE", path);
      });
    });
    rows.dataset.loaded = "true";
  }

  function showSchedules() {
    document.getElementById("schedule-rows").dataset.loaded = "false";
    return api.request("GET", "schedules").then(function (body) {
      render((body && body.schedules) || []);
      ui.showBanner("");
    }, ui.complain);
  }

  ns.showSchedules = showSchedules;
})();
