/* stepwork web page: talking to the server (JSON requests and the SSE event stream).
 *
 * Paths are relative, so the page works wherever the app is mounted. The bearer token lives
 * in sessionStorage and goes out as an Authorization header. The event stream is read with
 * fetch and a small SSE parser rather than EventSource: EventSource cannot send the header,
 * and it only hands named events ("event: Question") to listeners registered per name, which
 * the page cannot know in advance. The reader reconnects from the last offset it saw when
 * the stream drops before the run's terminal event.
 */
(function () {
  "use strict";

  var ns = (window.StepworkPage = window.StepworkPage || {});
  var TOKEN_KEY = "stepwork.token";

  function getToken() {
    try {
      return window.sessionStorage.getItem(TOKEN_KEY) || "";
    } catch (error) {
      return "";
    }
  }

  function setToken(value) {
    try {
      if (value) window.sessionStorage.setItem(TOKEN_KEY, value);
      else window.sessionStorage.removeItem(TOKEN_KEY);
    } catch (error) {
      // Storage can be disabled; the token then lasts until the page is closed.
    }
    memoryToken = value;
  }

  var memoryToken = getToken();

  function headers(extra) {
    var result = { Accept: "application/json" };
    if (memoryToken) result.Authorization = "Bearer " + memoryToken;
    Object.keys(extra || {}).forEach(function (key) { result[key] = extra[key]; });
    return result;
  }

  function ApiError(status, code, message, field) {
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.message = message;
    this.field = field || null;
  }
  ApiError.prototype = Object.create(Error.prototype);
  ApiError.prototype.constructor = ApiError;

  function errorFrom(status, body, text) {
    var error = body && body.error;
    if (error && typeof error === "object") return new ApiError(status, error.code, error.message, error.field);
    return new ApiError(status, "http_" + status, text ? text.slice(0, 300) : "HTTP " + status, null);
  }

  function request(method, path, body) {
    var init = { method: method, headers: headers(body === undefined ? null : { "Content-Type": "application/json" }), cache: "no-store" };
    if (body !== undefined) init.body = JSON.stringify(body);
    return fetch(path, init).then(function (response) {
      return response.text().then(function (text) {
        var data = null;
        try {
          data = text ? JSON.parse(text) : null;
        } catch (error) {
          data = null;
        }
        if (!response.ok) throw errorFrom(response.status, data, text);
        return data;
      });
    }, function (error) {
      throw new ApiError(0, "network", "The server did not answer (" + error.message + ").", null);
    });
  }

  function query(params) {
    var parts = [];
    Object.keys(params).forEach(function (key) {
      var value = params[key];
      (Array.isArray(value) ? value : [value]).forEach(function (item) {
        if (item !== undefined && item !== null && item !== "") {
          parts.push(encodeURIComponent(key) + "=" + encodeURIComponent(String(item)));
        }
      });
    });
    return parts.length ? "?" + parts.join("&") : "";
  }

  /* Follows runs/{id}/events as SSE. options: {after, internal, onEvent(envelope),
   * onState(state, detail)} where state is "connecting", "live", "retrying", "ended" or
   * "failed". Returns {close()}. Events are delivered once each, in offset order. */
  function followEvents(runId, options) {
    var last = typeof options.after === "number" ? options.after : -1;
    var closed = false;
    var controller = null;
    var timer = null;
    var delay = 250;
    var state = function (name, detail) { if (options.onState) options.onState(name, detail); };

    function finish(name, detail) {
      closed = true;
      if (controller) controller.abort();
      state(name, detail);
    }

    function retry(detail) {
      if (closed) return;
      state("retrying", detail);
      timer = window.setTimeout(connect, delay);
      delay = Math.min(delay * 2, 5000);
    }

    function connect() {
      timer = null;
      if (closed) return;
      controller = new AbortController();
      var url = "runs/" + encodeURIComponent(runId) + "/events" +
        query({ after: last, internal: options.internal ? "true" : "" });
      state("connecting");
      fetch(url, { headers: headers({ Accept: "text/event-stream" }), signal: controller.signal, cache: "no-store" })
        .then(function (response) {
          if (!response.ok || !response.body) {
            return response.text().then(function (text) {
              var body = null;
              try { body = JSON.parse(text); } catch (error) { body = null; }
              var error = errorFrom(response.status, body, text);
              if (response.status >= 500) retry(error.message);
              else finish("failed", error.message);
            });
          }
          state("live");
          delay = 250;
          return read(response.body.getReader());
        })
        .catch(function (error) {
          if (closed || (error && error.name === "AbortError")) return;
          retry(error && error.message ? error.message : String(error));
        });
    }

    function read(reader) {
      var decoder = new TextDecoder();
      var buffer = "";
      var data = [];
      var id = null;

      function dispatch() {
        if (!data.length) {
          id = null;
          return;
        }
        var envelope = JSON.parse(data.join("\n"));
        var offset = id !== null && /^\d+$/.test(id) ? Number(id) : envelope.offset;
        data = [];
        id = null;
        if (typeof offset === "number" && offset <= last) return;
        if (typeof offset === "number") last = offset;
        options.onEvent(envelope);
        if (envelope.terminal) finish("ended");
      }

      function line(text) {
        if (text === "") return dispatch();
        if (text.charAt(0) === ":") return undefined; // a comment: the heartbeat
        var colon = text.indexOf(":");
        var field = colon < 0 ? text : text.slice(0, colon);
        var value = colon < 0 ? "" : text.slice(colon + 1).replace(/^ /, "");
        if (field === "data") data.push(value);
        else if (field === "id") id = value;
        return undefined;
      }

      function pump() {
        return reader.read().then(function (chunk) {
          if (closed) return undefined;
          if (chunk.done) {
            // The stream ended before the run's terminal event (a restart, a proxy): go on
            // from the last offset.
            retry("the stream closed");
            return undefined;
          }
          buffer += decoder.decode(chunk.value, { stream: true });
          // A "\r" at the end may be half of "\r\n": keep it for the next chunk.
          var carry = buffer.charAt(buffer.length - 1) === "\r" ? "\r" : "";
          var lines = (carry ? buffer.slice(0, -1) : buffer).split(/\r\n|\n|\r/);
          buffer = lines.pop() + carry;
          for (var i = 0; i < lines.length && !closed; i++) line(lines[i]);
          return closed ? reader.cancel().catch(function () { return undefined; }) : pump();
        });
      }
      return pump();
    }

    connect();
    return {
      close: function () {
        if (timer !== null) window.clearTimeout(timer);
        closed = true;
        if (controller) controller.abort();
      }
    };
  }

  ns.api = {
    request: request,
    query: query,
    followEvents: followEvents,
    getToken: function () { return memoryToken; },
    setToken: setToken,
    ApiError: ApiError
  };
})();
