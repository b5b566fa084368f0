/* stepwork web page: a form generated from an event's JSON schema (pydantic's dialect).
 *
 * Strings, numbers, integers and booleans get inputs; enums a select; arrays of simple items
 * a textarea with one item per line; anything else (objects, unions, arrays of objects) a
 * JSON textarea. A schema without properties (a plain StartEvent accepts any fields) gets one
 * JSON textarea for the whole object. Required-ness is left to the server, which answers 422
 * naming the field: empty optional inputs are left out of the value, and so are empty
 * required ones, so the server's message is the one shown next to the field.
 */
(function () {
  "use strict";

  var ns = (window.StepworkPage = window.StepworkPage || {});
  var SIMPLE = { string: 1, number: 1, integer: 1, boolean: 1 };
  var WHOLE = "__whole__";
  var formCount = 0;

  // el(tag, {text, className, attribute: value}, parent): the drawing page's element maker.
  var el = window.StepworkDrawing.html;

  /* Appends `text` (a docstring or a description) to `node` as text nodes, with ``code``
   * (reStructuredText) and `code` (Markdown) spans as <code> elements; nothing is parsed as
   * HTML. Returns `node`. */
  function docText(node, text) {
    var source = String(text === undefined || text === null ? "" : text);
    var pattern = /``([^`]+?)``|`([^`\n]+)`/g;
    var at = 0;
    var match;
    while ((match = pattern.exec(source)) !== null) {
      if (match.index > at) node.appendChild(document.createTextNode(source.slice(at, match.index)));
      el("code", { text: match[1] !== undefined ? match[1] : match[2] }, node);
      at = pattern.lastIndex;
    }
    if (at < source.length) node.appendChild(document.createTextNode(source.slice(at)));
    return node;
  }

  // Follows "$ref" into "$defs" and reduces "anyOf: [X, null]" to X (marked nullable).
  function resolve(schema, root) {
    var seen = 0;
    var nullable = false;
    while (schema && seen < 20) {
      seen += 1;
      if (typeof schema.$ref === "string") {
        var name = schema.$ref.split("/").pop();
        var target = ((root && (root.$defs || root.definitions)) || {})[name];
        if (!target) break;
        schema = Object.assign({}, target, schema.description ? { description: schema.description } : {});
        continue;
      }
      var options = schema.anyOf || schema.oneOf;
      if (Array.isArray(options)) {
        var rest = options.filter(function (option) { return option.type !== "null"; });
        if (rest.length < options.length) nullable = true;
        if (rest.length === 1) {
          var merged = Object.assign({}, rest[0]);
          ["title", "description", "default"].forEach(function (key) {
            if (schema[key] !== undefined && merged[key] === undefined) merged[key] = schema[key];
          });
          schema = merged;
          continue;
        }
      }
      break;
    }
    return { schema: schema || {}, nullable: nullable };
  }

  function kindOf(schema) {
    if (Array.isArray(schema.enum)) return "enum";
    if (schema.const !== undefined) return "const";
    var type = Array.isArray(schema.type) ? schema.type.filter(function (t) { return t !== "null"; })[0] : schema.type;
    if (SIMPLE[type]) return type;
    if (type === "array") {
      var items = schema.items || {};
      var itemType = items.type;
      if (SIMPLE[itemType] && itemType !== "boolean") return "lines";
    }
    return "json";
  }

  function fieldLabel(name, schema) {
    return schema.title && schema.title.toLowerCase() !== name.replace(/_/g, " ").toLowerCase()
      ? schema.title + " (" + name + ")" : name;
  }

  function buildField(name, spec, required, root, host, prefix) {
    var resolved = resolve(spec, root);
    var schema = resolved.schema;
    var kind = name === WHOLE ? "json" : kindOf(schema);
    var id = prefix + "-" + name.replace(/[^A-Za-z0-9_-]/g, "_");
    var row = el("div", { className: "field field-" + kind }, host);
    row.dataset.field = name;
    var label = el("label", { "for": id }, row);
    label.textContent = name === WHOLE ? "Fields (a JSON object)" : fieldLabel(name, schema);
    if (required) el("span", { className: "required", text: " *", title: "required" }, label);
    var input;
    if (kind === "boolean") {
      input = el("input", { id: id, type: "checkbox", name: name }, null);
      row.insertBefore(input, label);
      row.classList.add("field-check");
      input.checked = schema.default === true;
    } else if (kind === "enum") {
      input = el("select", { id: id, name: name }, row);
      if (!required || resolved.nullable) el("option", { value: "", text: "\u2014" }, input);
      schema.enum.forEach(function (value, i) {
        var option = el("option", { value: String(i), text: JSON.stringify(value) }, input);
        if (schema.default !== undefined && JSON.stringify(schema.default) === JSON.stringify(value)) option.selected = true;
      });
    } else if (kind === "json" || kind === "lines") {
      input = el("textarea", { id: id, name: name, rows: kind === "json" ? 4 : 3, spellcheck: "false" }, row);
      if (kind === "json") {
        input.placeholder = name === WHOLE ? '{"field": "value"}' : schema.type === "array" ? "[ ]" : "{ }";
        if (schema.default !== undefined) input.value = JSON.stringify(schema.default, null, 2);
        else if (name === WHOLE) input.value = "{}";
      } else {
        input.placeholder = "one per line";
        if (Array.isArray(schema.default)) input.value = schema.default.join("\n");
      }
    } else {
      var type = kind === "integer" || kind === "number" ? "number" : "text";
      input = el("input", { id: id, name: name, type: type, spellcheck: "false" }, row);
      if (type === "number") input.step = kind === "integer" ? "1" : "any";
      if (kind === "const") {
        input.value = JSON.stringify(schema.const);
        input.readOnly = true;
      } else if (schema.default !== undefined && schema.default !== null) {
        input.value = String(schema.default);
      }
    }
    if (schema.description && name !== WHOLE) docText(el("div", { className: "field-help" }, row), schema.description);
    if (kind === "lines") el("div", { className: "field-help", text: "One item per line." }, row);
    var error = el("div", { className: "field-error", role: "alert" }, row);
    error.id = id + "-error";
    input.setAttribute("aria-describedby", error.id);
    return { name: name, kind: kind, schema: schema, nullable: resolved.nullable, input: input, row: row, error: error };
  }

  function parseScalar(kind, text) {
    if (kind === "integer") {
      if (!/^[-+]?\d+$/.test(text)) throw new Error("must be a whole number");
      return parseInt(text, 10);
    }
    if (kind === "number") {
      var value = Number(text);
      if (!isFinite(value)) throw new Error("must be a number");
      return value;
    }
    return text;
  }

  // Returns {present: bool, value} for one field, or throws an Error with a message.
  function readField(field) {
    var input = field.input;
    if (field.kind === "boolean") return { present: true, value: input.checked };
    if (field.kind === "enum") {
      if (input.value === "") return { present: field.nullable, value: null };
      return { present: true, value: field.schema.enum[Number(input.value)] };
    }
    if (field.kind === "const") return { present: true, value: field.schema.const };
    var text = input.value;
    if (field.kind === "json") {
      if (!text.trim()) return { present: false };
      try {
        return { present: true, value: JSON.parse(text) };
      } catch (error) {
        throw new Error("is not valid JSON (" + error.message + ")");
      }
    }
    if (field.kind === "lines") {
      var itemKind = (field.schema.items || {}).type;
      var lines = text.split("\n").map(function (line) { return line.trim(); }).filter(Boolean);
      if (!lines.length) return { present: false };
      return { present: true, value: lines.map(function (line, i) {
        try {
          return parseScalar(itemKind, line);
        } catch (error) {
          throw new Error("line " + (i + 1) + " " + error.message);
        }
      }) };
    }
    if (field.kind === "string") return text === "" ? { present: false } : { present: true, value: text };
    if (!text.trim()) return { present: false };
    return { present: true, value: parseScalar(field.kind, text.trim()) };
  }

  /* Builds a form for `schema` in `host`. Returns an object with:
   *   read()                 -> {ok, value, errors: {field: message}}, errors shown next to fields
   *   showError(field, msg)  -> shows a server error next to the field it names (or on the form)
   *   clearErrors()
   */
  function buildSchemaForm(schema, host, options) {
    formCount += 1;
    var prefix = ((options && options.idPrefix) || "sf") + formCount;
    var root = schema || {};
    var properties = root.properties || {};
    var names = Object.keys(properties);
    var required = root.required || [];
    var fields = [];
    var box = el("div", { className: "schema-form" }, host);
    if (!names.length) {
      fields.push(buildField(WHOLE, { type: "object" }, false, root, box, prefix));
    } else {
      names.forEach(function (name) {
        fields.push(buildField(name, properties[name], required.indexOf(name) >= 0, root, box, prefix));
      });
    }
    var formError = el("div", { className: "form-error", role: "alert" }, box);

    function clearErrors() {
      formError.textContent = "";
      fields.forEach(function (field) {
        field.error.textContent = "";
        field.row.classList.remove("invalid");
      });
    }

    function fieldFor(path) {
      var parts = String(path || "").split(/[.\/\[\]]+/).filter(Boolean);
      for (var i = 0; i < parts.length; i++) {
        for (var j = 0; j < fields.length; j++) if (fields[j].name === parts[i]) return fields[j];
      }
      return fields.length === 1 && fields[0].name === WHOLE ? fields[0] : null;
    }

    function showError(path, message) {
      var field = fieldFor(path);
      // The server's message starts with the path ("data.text: Field required").
      if (path && String(message).indexOf(path + ": ") === 0) message = message.slice(path.length + 2);
      if (field) {
        field.error.textContent = message;
        field.row.classList.add("invalid");
      } else {
        formError.textContent = (path ? path + ": " : "") + message;
      }
    }

    function read() {
      clearErrors();
      var value = {};
      var errors = {};
      fields.forEach(function (field) {
        try {
          var got = readField(field);
          if (!got.present) return;
          if (field.name === WHOLE) {
            if (!got.value || typeof got.value !== "object" || Array.isArray(got.value)) {
              throw new Error("must be a JSON object");
            }
            Object.assign(value, got.value);
          } else {
            value[field.name] = got.value;
          }
        } catch (error) {
          errors[field.name] = error.message;
          showError(field.name, error.message);
        }
      });
      return { ok: !Object.keys(errors).length, value: value, errors: errors };
    }

    return { element: box, read: read, showError: showError, clearErrors: clearErrors, fields: fields };
  }

  ns.buildSchemaForm = buildSchemaForm;
  ns.el = el;
  ns.docText = docText;
})();
