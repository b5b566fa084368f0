/* stepwork web page: a run's trace (the data the drawing's timeline takes) rebuilt from what
 * the server tells the page.
 *
 * The first choice is the run's history (GET runs/{id}/history): one entry per journaled tick
 * with its time, a summary ("invocation 3 returned Answer") and its effects ("started step
 * greet (invocation 4)"), which give every invocation with real start and end times. When the
 * history is not available, the internal StepStateChanged events of the stream stand in,
 * timed by their arrival in the browser.
 */
(function () {
  "use strict";

  var ns = (window.StepworkPage = window.StepworkPage || {});

  var STARTED = /^started step (.+) \(invocation (\d+)\)$/;
  var CANCELLED = /^cancelled invocation (\d+)$/;
  var ENDED = /^run ended with (\S+)$/;
  var RUN_STARTED = /^run started with (\S+)$/;
  var SENT = /^(\S+) sent(?: to step (\S+))?$/;
  var RETURNED = /^invocation (\d+) returned (\S+)$/;
  var FAILED = /^invocation (\d+) failed(?:, retry in ([-+.\deE]+) s)?$/;
  var WROTE = /^invocation (\d+) wrote (\S+) to the stream$/;
  var WAITS = /^invocation (\d+) waits for (\S+)$/;
  var FINISHED = { completed: 1, failed: 1, timed_out: 1, cancelled: 1 };

  function newInvocation(id, step, at, attempt) {
    return {
      id: id, step: step, worker: 0, attempt: attempt, started_at: at, ended_at: null,
      outcome: "running", inputs: [], woken_by: [], emitted: [], waits_for: [], waiting: false,
      error_type: null, error_message: null, retry_delay: null, previous_attempt: null, duration: null
    };
  }

  // Invocations of one step that overlap in time go to separate rows, as workers would.
  function assignLanes(invocations) {
    var lanes = {};
    invocations.forEach(function (run) {
      var ends = lanes[run.step] || (lanes[run.step] = []);
      var lane = 0;
      while (lane < ends.length && ends[lane] > run.started_at) lane += 1;
      ends[lane] = run.ended_at === null ? Infinity : run.ended_at;
      run.worker = lane;
    });
  }

  function finishTrace(trace, invocations, run) {
    var endAt = trace.ending ? trace.ending.at : null;
    invocations.forEach(function (inv) {
      if (inv.outcome === "running" && endAt !== null) {
        inv.outcome = "cancelled";
        inv.ended_at = endAt;
        inv.waiting = false;
      }
      inv.duration = inv.ended_at === null ? null : inv.ended_at - inv.started_at;
    });
    if (run && run.error && trace.ending) {
      trace.ending.error_type = run.error.type;
      trace.ending.error_message = run.error.message;
      trace.ending.step = run.error.step || null;
      var culprit = invocations.filter(function (inv) {
        return inv.step === run.error.step && (inv.outcome === "failed" || inv.outcome === "timed_out");
      }).pop();
      if (culprit) {
        culprit.error_type = run.error.type;
        culprit.error_message = run.error.message;
        trace.ending.invocation = culprit.id;
      }
    }
    if (run && trace.ending && run.status === "completed" && run.result !== undefined && run.result !== null) {
      trace.ending.result = JSON.stringify(run.result).slice(0, 200);
    }
    assignLanes(invocations);
    trace.invocations = invocations;
    return trace;
  }

  /* The trace of `run` (a RunInfo) from its history entries. */
  function traceFromHistory(entries, run, roleOf) {
    var trace = {
      run_id: run.run_id, workflow: run.workflow, status: run.status,
      started_at: entries.length ? entries[0].at : run.created_at,
      last_at: entries.length ? entries[entries.length - 1].at : run.updated_at,
      events: [], invocations: [], ending: null
    };
    var byId = {};
    var invocations = [];
    var pendingRetry = {};
    function addEvent(type, at, origin, source) {
      var event = { index: trace.events.length, type: type, role: roleOf(type), at: at, origin: origin,
        source: source, target: null, consumed_by: [], data: {} };
      trace.events.push(event);
      return event;
    }
    entries.forEach(function (entry) {
      var at = entry.at;
      var summary = entry.summary || "";
      var produced = null;
      var match;
      if ((match = RUN_STARTED.exec(summary))) {
        produced = addEvent(match[1], at, "start", null);
      } else if ((match = SENT.exec(summary))) {
        produced = addEvent(match[1], at, "caller", null);
        produced.target = match[2] || null;
        var sent = produced;
        invocations.forEach(function (inv) {
          if (inv.waiting && inv.waits_for.indexOf(sent.type) >= 0) {
            inv.waiting = false;
            inv.woken_by.push(sent.index);
            sent.consumed_by.push(inv.id);
          }
        });
      } else if ((match = RETURNED.exec(summary))) {
        var done = byId[match[1]];
        if (done) {
          done.outcome = "done";
          done.ended_at = at;
          done.waiting = false;
        }
        if (match[2] !== "None") {
          produced = addEvent(match[2], at, "output", done ? done.id : null);
          if (done) done.emitted.push(produced.index);
        }
      } else if ((match = FAILED.exec(summary))) {
        var failed = byId[match[1]];
        if (failed) {
          failed.outcome = "failed";
          failed.ended_at = at;
          failed.waiting = false;
          if (match[2] !== undefined) {
            failed.retry_delay = Number(match[2]);
            pendingRetry[failed.step] = failed;
          }
        }
      } else if ((match = WROTE.exec(summary))) {
        var writer = byId[match[1]];
        var written = addEvent(match[2], at, "stream", writer ? writer.id : null);
        if (writer) writer.emitted.push(written.index);
      } else if ((match = WAITS.exec(summary))) {
        var waiter = byId[match[1]];
        if (waiter) {
          waiter.waiting = true;
          if (waiter.waits_for.indexOf(match[2]) < 0) waiter.waits_for.push(match[2]);
        }
      }
      (entry.effects || []).forEach(function (effect) {
        var found;
        if ((found = STARTED.exec(effect))) {
          var previous = pendingRetry[found[1]];
          var inv = newInvocation(Number(found[2]), found[1], at, previous ? previous.attempt + 1 : 1);
          if (previous) {
            inv.previous_attempt = previous.id;
            delete pendingRetry[found[1]];
          }
          if (produced) {
            inv.inputs.push(produced.index);
            produced.consumed_by.push(inv.id);
          }
          byId[found[2]] = inv;
          invocations.push(inv);
        } else if ((found = CANCELLED.exec(effect))) {
          var cancelled = byId[found[1]];
          if (cancelled && cancelled.outcome === "running") {
            cancelled.outcome = "cancelled";
            cancelled.ended_at = at;
          }
        } else if ((found = ENDED.exec(effect))) {
          trace.ending = { status: FINISHED[entry.status] ? entry.status : run.status, at: at,
            event_type: found[1], event: null, step: null, invocation: null,
            error_type: null, error_message: null, result: null };
        }
      });
    });
    if (!trace.ending && FINISHED[run.status]) {
      trace.ending = { status: run.status, at: trace.last_at, event_type: run.status, event: null,
        step: null, invocation: null, error_type: null, error_message: null, result: null };
    }
    return finishTrace(trace, invocations, run);
  }

  /* The trace of `run` from StepStateChanged envelopes, each with `receivedAt` (seconds). */
  function traceFromStateChanges(changes, run, startedAt, endedAt) {
    var trace = {
      run_id: run.run_id, workflow: run.workflow, status: run.status,
      started_at: startedAt, last_at: startedAt, events: [], invocations: [], ending: null
    };
    var open = {};
    var invocations = [];
    changes.forEach(function (change) {
      var data = change.data || {};
      var key = data.name + "\u0000" + data.worker_id;
      var at = change.receivedAt;
      trace.last_at = Math.max(trace.last_at, at);
      if (data.step_state === "running" && !open[key]) {
        open[key] = newInvocation(invocations.length + 1, data.name, at, 1);
        invocations.push(open[key]);
      } else if (data.step_state === "not_running" && open[key]) {
        open[key].ended_at = at;
        open[key].outcome = "done";
        delete open[key];
      }
    });
    if (FINISHED[run.status]) {
      trace.ending = { status: run.status, at: Math.max(trace.last_at, endedAt || trace.last_at),
        event_type: run.status, event: null, step: null, invocation: null,
        error_type: null, error_message: null, result: null };
    }
    return finishTrace(trace, invocations, run);
  }

  ns.traceFromHistory = traceFromHistory;
  ns.traceFromStateChanges = traceFromStateChanges;
})();
