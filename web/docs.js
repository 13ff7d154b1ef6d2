// ForkFlow interactive API docs. Plain browser JS, no build step, CSP-safe (no inline code/styles):
// all spec and response data is inserted with DOM APIs / textContent, never innerHTML.
"use strict";
(() => {
  const SPEC_URL = "/openapi.json";
  const TOKEN_KEY = "forkflow.docs.bearer";
  const KEY_HEADERS = [
    "content-type",
    "x-request-id",
    "idempotent-replayed",
    "link",
    "retry-after",
    "location",
  ];
  const METHODS = [
    "get",
    "post",
    "put",
    "patch",
    "delete",
    "head",
    "options",
    "trace",
  ];
  const STREAM_PREVIEW_MS = 2000;
  const REQUEST_TIMEOUT_MS = 60000;
  let spec = {};
  const $ = (id) => document.getElementById(id);

  // el("div", {class: "x", onclick: fn}, "text", childNode, [more]) — strings always become text nodes.
  function el(tag, props, ...kids) {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v == null || v === false) continue;
      if (k === "class") n.className = v;
      else if (k.startsWith("on")) n.addEventListener(k.slice(2), v);
      else n.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of kids.flat(Infinity)) {
      if (c != null && c !== false) {
        n.append(c instanceof Node ? c : String(c));
      }
    }
    return n;
  }
  const own = (o, k) =>
    o != null && typeof o === "object" &&
    Object.prototype.hasOwnProperty.call(o, k);
  const isObj = (v) => v != null && typeof v === "object" && !Array.isArray(v);
  const fmt = (v) => JSON.stringify(v) ?? String(v);
  const errText = (e) => (e && e.message ? e.message : String(e));
  const paragraphs = (text, cls) =>
    String(text || "").split(/\n\s*\n/).filter((p) => p.trim()).map((p) =>
      el("p", { class: cls }, p.trim())
    );

  // ---------- $ref handling ----------
  const unescPtr = (k) => {
    try {
      k = decodeURIComponent(k);
    } catch { /* keep raw */ }
    return k.replace(/~1/g, "/").replace(/~0/g, "~");
  };
  const pointer = (
    ref,
  ) => (typeof ref !== "string" || !ref.startsWith("#")
    ? undefined
    : ref.slice(1).split("/").filter(Boolean).map(unescPtr).reduce(
      (cur, k) => (own(cur, k) ? cur[k] : undefined),
      spec,
    ));
  const escPtr = (k) =>
    String(k).replace(/~/g, "~0").replace(/\//g, "~1").replace(/%/g, "%25");
  // Schemas emitted by z.toJSONSchema may carry their own `$defs` with refs like "#/$defs/X" or "#" that are
  // relative to the embedded schema, not to the OpenAPI document: rewrite them into document pointers.
  function fixLocalRefs(node, ptr, root, depth) {
    if (depth > 64 || node == null || typeof node !== "object") return;
    const r = node.$ref;
    if (
      typeof r === "string" && root !== null &&
      (r === "#" || /^#\/(\$defs|definitions)\//.test(r))
    ) node.$ref = "#" + root + r.slice(1);
    for (const [k, v] of Object.entries(node)) {
      const childPtr = ptr + "/" + escPtr(k);
      const isRoot = root === null &&
        (k === "schema" || /^\/components\/schemas$/.test(ptr));
      fixLocalRefs(v, childPtr, isRoot ? childPtr : root, depth + 1);
    }
  }
  // Display name of a schema $ref: "#/components/schemas/Order" -> "Order"; a self reference ("#") -> "self".
  const refName = (ref) => {
    const m = /\/(?:schemas|\$defs|definitions)\/([^/]+)$/.exec(String(ref));
    return m ? unescPtr(m[1]) : "self";
  };
  function deref(obj) {
    for (let i = 0; i < 32 && isObj(obj) && typeof obj.$ref === "string"; i++) {
      const { $ref, ...siblings } = obj;
      const target = pointer($ref);
      if (!isObj(target)) return { ...siblings, "x-unresolved": $ref };
      obj = { ...target, ...siblings };
    }
    return isObj(obj) ? obj : {};
  }
  function mergeAllOf(s, depth = 0) {
    if (!Array.isArray(s.allOf) || depth > 10) return s;
    const { allOf, ...out } = s;
    for (const p of allOf.map((x) => mergeAllOf(deref(x), depth + 1))) {
      for (const [k, v] of Object.entries(p)) {
        if (k === "properties") {
          out.properties = { ...(out.properties || {}), ...v };
        } else if (k === "required") {
          out.required = [...new Set([...(out.required || []), ...v])];
        } else if (!own(out, k)) out[k] = v;
      }
    }
    return out;
  }
  const isNullSchema = (x) => {
    const d = deref(x);
    return d.type === "null" || (d.const === null && !d.type);
  };
  // -> {s, name, ref, nullable, types}; collapses `anyOf [X, null]`, `type: [T, "null"]` and unions of consts (enums).
  function normalize(raw) {
    let ref = isObj(raw) && typeof raw.$ref === "string" ? raw.$ref : null;
    let name = ref ? refName(ref) : null;
    let s = mergeAllOf(deref(raw));
    let nullable = s.nullable === true;
    for (const key of ["anyOf", "oneOf"]) {
      if (!Array.isArray(s[key])) continue;
      const rest = s[key].filter((a) => !isNullSchema(a));
      if (rest.length < s[key].length) nullable = true;
      const { [key]: _drop, nullable: _n, ...outer } = s;
      const consts = rest.map(deref);
      if (rest.length === 1 && !s.type && !s.properties) {
        const inner = normalize(rest[0]);
        name = name || inner.name;
        ref = ref || inner.ref;
        s = { ...inner.s, ...outer };
        nullable = nullable || inner.nullable;
      } else if (
        rest.length > 1 && consts.every((c) => c.const !== undefined)
      ) {
        s = {
          type: consts[0].type,
          ...outer,
          enum: consts.map((c) => c.const),
        };
      } else s = { ...s, [key]: rest };
    }
    if (s.const !== undefined && !s.enum) s = { ...s, enum: [s.const] };
    let types = Array.isArray(s.type) ? s.type.slice() : s.type ? [s.type] : [];
    if (types.includes("null") && types.length > 1) {
      nullable = true;
      types = types.filter((t) => t !== "null");
    }
    if (!types.length) {
      types = s.properties ? ["object"] : s.items ? ["array"] : [];
    }
    return { s, name, ref, nullable, types };
  }
  function typeLabel(raw, depth = 0) {
    const { s, name, types } = normalize(raw);
    if (name && depth > 0) return name;
    if (types[0] === "array" && types.length === 1) {
      return "array<" +
        (s.items && depth < 4 ? typeLabel(s.items, depth + 1) : "any") + ">";
    }
    if (!types.length && (s.anyOf || s.oneOf)) {
      return (s.anyOf || s.oneOf).map((a) => typeLabel(a, depth + 1)).join(
        " | ",
      );
    }
    const base = types.length ? types.join(" | ") : "any";
    return s.format ? `${base} (${s.format})` : base;
  }
  const CONSTRAINTS = [
    ["minimum", "≥ "],
    ["exclusiveMinimum", "> "],
    ["maximum", "≤ "],
    ["exclusiveMaximum", "< "],
    ["minLength", "minLength "],
    ["maxLength", "maxLength "],
    ["minItems", "minItems "],
    ["maxItems", "maxItems "],
    ["minProperties", "minProps "],
    ["maxProperties", "maxProps "],
    ["multipleOf", "multipleOf "],
    ["pattern", "pattern "],
  ];
  function constraints(s) {
    const out = CONSTRAINTS.filter(([k]) =>
      s[k] !== undefined && typeof s[k] !== "boolean" &&
      Math.abs(s[k]) !== Number.MAX_SAFE_INTEGER &&
      // zod adds long regexes to formats such as uuid/email: the format says enough
      !(k === "pattern" && s.format)
    )
      .map(([k, label]) => label + s[k]);
    for (const k of ["uniqueItems", "readOnly", "writeOnly"]) {
      if (s[k] === true) out.push(k);
    }
    if (s.default !== undefined) out.push("default " + fmt(s.default));
    return out;
  }
  const chips = (s) => [
    Array.isArray(s.enum)
      ? el(
        "span",
        { class: "senum" },
        (s.enum.length > 1 ? "one of: " : "= ") + s.enum.map(fmt).join(" | "),
      )
      : null,
    constraints(s).map((c) => el("span", { class: "scons" }, c)),
  ];

  // ---------- schema tree ----------
  const schemaTree = (raw) =>
    el(
      "ul",
      { class: "schema-tree root" },
      schemaNode(null, raw, false, new Set(), 0),
    );
  function schemaNode(label, raw, required, seen, depth) {
    const { s, name, ref, nullable, types } = normalize(raw);
    const line = el(
      "div",
      { class: "sline" },
      label != null
        ? el(
          "span",
          { class: "sname" + (s.deprecated ? " deprecated" : "") },
          label,
        )
        : null,
      required ? el("span", { class: "req", title: "required" }, "*") : null,
      el(
        "span",
        { class: "stype" },
        label == null
          ? (name ? name + " · " : "") + typeLabel(raw, 0)
          : typeLabel(raw, 1),
      ),
      nullable ? el("span", { class: "tag-null" }, "nullable") : null,
      chips(s),
      s["x-unresolved"]
        ? el("span", { class: "scons warn" }, "unresolved " + s["x-unresolved"])
        : null,
    );
    const li = el("li", {}, line);
    if (s.title && s.title !== label && s.title !== name) {
      li.append(el("div", { class: "sdesc title" }, s.title));
    }
    if (s.description) li.append(el("div", { class: "sdesc" }, s.description));
    if (ref && seen.has(ref)) {
      line.append(el("span", { class: "scons" }, "↻ recursive"));
      return li;
    }
    if (depth > 12) return li;
    const next = ref ? new Set(seen).add(ref) : seen;
    const kids = [];
    const req = new Set(Array.isArray(s.required) ? s.required : []);
    if (isObj(s.properties)) {
      for (const [k, v] of Object.entries(s.properties)) {
        kids.push(schemaNode(k, v, req.has(k), next, depth + 1));
      }
    }
    if (isObj(s.additionalProperties)) {
      kids.push(
        schemaNode(
          "[key: string]",
          s.additionalProperties,
          false,
          next,
          depth + 1,
        ),
      );
    }
    if (types.includes("array") && isObj(s.items)) {
      const it = normalize(s.items).s;
      if (
        it.properties || it.anyOf || it.oneOf || it.items || it.enum ||
        it.description
      ) kids.push(schemaNode("[item]", s.items, false, next, depth + 1));
    }
    if (Array.isArray(s.prefixItems)) {
      s.prefixItems.forEach((p, i) =>
        kids.push(schemaNode(`[${i}]`, p, true, next, depth + 1))
      );
    }
    for (const key of ["anyOf", "oneOf"]) {
      if (Array.isArray(s[key])) {
        s[key].forEach((a, i) =>
          kids.push(schemaNode(`${key} #${i + 1}`, a, false, next, depth + 1))
        );
      }
    }
    if (kids.length) li.append(el("ul", { class: "schema-tree" }, kids));
    return li;
  }

  // ---------- example synthesis ----------
  function firstExample(o) {
    if (!isObj(o)) return undefined;
    if (o.example !== undefined) return o.example;
    if (Array.isArray(o.examples) && o.examples.length) return o.examples[0];
    const first = isObj(o.examples)
      ? deref(Object.values(o.examples)[0])
      : null; // OpenAPI media-type `examples` map
    return first && first.value !== undefined ? first.value : undefined;
  }
  const FORMAT_EXAMPLES = {
    "date-time": "2024-01-01T12:00:00Z",
    date: "2024-01-01",
    time: "12:00:00",
    email: "user@example.com",
    uuid: "3fa85f64-5717-4562-b3fc-2c963f66afa6",
    uri: "https://example.com",
    url: "https://example.com",
  };
  function exampleFor(raw, depth = 0, seen = new Set()) {
    if (depth > 10) return null;
    if (isObj(raw) && raw.$ref) {
      if (seen.has(raw.$ref)) return null;
      seen = new Set(seen).add(raw.$ref);
    }
    const s = mergeAllOf(deref(raw));
    for (
      const v of [
        firstExample(s),
        s.default,
        s.const,
        Array.isArray(s.enum) ? s.enum[0] : undefined,
      ]
    ) if (v !== undefined) return v;
    const alts = s.anyOf || s.oneOf;
    if (Array.isArray(alts) && alts.length) {
      return exampleFor(
        alts.find((a) => !isNullSchema(a)) || alts[0],
        depth + 1,
        seen,
      );
    }
    let t = Array.isArray(s.type)
      ? s.type.find((x) => x !== "null") || "null"
      : s.type;
    if (!t) t = s.properties ? "object" : s.items ? "array" : undefined;
    if (t === "object") {
      const props = isObj(s.properties) ? s.properties : {};
      const keys = Array.isArray(s.required) && s.required.length
        ? s.required
        : Object.keys(props);
      return Object.fromEntries(
        keys.map((
          k,
        ) => [
          k,
          own(props, k) ? exampleFor(props[k], depth + 1, seen) : "string",
        ]),
      );
    }
    if (t === "array") {
      return Array.isArray(s.prefixItems)
        ? s.prefixItems.map((p) => exampleFor(p, depth + 1, seen))
        : [exampleFor(s.items || {}, depth + 1, seen)];
    }
    if (t === "integer" || t === "number") {
      if (typeof s.minimum === "number") return s.minimum;
      if (typeof s.exclusiveMinimum === "number") {
        return t === "integer"
          ? Math.floor(s.exclusiveMinimum) + 1
          : s.exclusiveMinimum + 1;
      }
      return typeof s.maximum === "number" && s.maximum < 0 ? s.maximum : 0;
    }
    if (t === "boolean") return true;
    if (t !== "string") return null;
    let v = FORMAT_EXAMPLES[s.format] || "string";
    if (typeof s.minLength === "number" && v.length < s.minLength) {
      v = v.padEnd(s.minLength, "x");
    }
    return typeof s.maxLength === "number" ? v.slice(0, s.maxLength) : v;
  }

  // ---------- operations list ----------
  function collectOperations() {
    const ops = [];
    for (const [path, rawItem] of Object.entries(spec.paths || {})) {
      const item = deref(rawItem);
      for (const method of METHODS.filter((m) => isObj(item[m]))) {
        const op = item[method];
        const params = new Map(); // operation-level parameters override path-level ones
        for (
          const p of [...(item.parameters || []), ...(op.parameters || [])].map(
            deref,
          )
        ) {
          if (p.name && p.in) {
            params.set(
              p.in + ":" + (p.in === "header" ? p.name.toLowerCase() : p.name),
              p,
            );
          }
        }
        const tag = (Array.isArray(op.tags) && op.tags[0]) ||
          path.split("/").filter(Boolean)[0] || "default";
        const id = "op-" +
          (method + "-" + path).toLowerCase().replace(/[^a-z0-9]+/g, "-")
            .replace(/^-|-$/g, "");
        const haystack = [method, path, op.summary, op.operationId, tag].filter(
          Boolean,
        ).join(" ").toLowerCase();
        ops.push({
          path,
          method,
          op,
          tag,
          id,
          params: [...params.values()],
          haystack,
        });
      }
    }
    return ops;
  }
  function renderSpec() {
    const info = spec.info || {};
    document.title = (info.title || "API") + " · API docs";
    $("api-title").textContent = info.title || "API documentation";
    if (info.version) {
      $("api-version").textContent = "v" + info.version;
      $("api-version").hidden = false;
    }
    if (spec.openapi) {
      $("api-oas").textContent = "OAS " + spec.openapi;
      $("api-oas").hidden = false;
    }
    $("api-description").append(...paragraphs(info.description));
    const ops = collectOperations();
    const groups = new Map();
    for (const t of spec.tags || []) {
      if (t && t.name) groups.set(t.name, { meta: t, ops: [] });
    }
    for (const o of ops) {
      if (!groups.has(o.tag)) {
        groups.set(o.tag, { meta: { name: o.tag }, ops: [] });
      }
      groups.get(o.tag).ops.push(o);
    }
    const main = $("ops");
    main.replaceChildren();
    if (!ops.length) {
      main.append(
        el("p", { class: "status-note" }, "The spec contains no operations."),
      );
    }
    const sections = [...groups.values()].filter((g) => g.ops.length).map(
      (g) => {
        const section = el(
          "details",
          { class: "group", open: true },
          el(
            "summary",
            {},
            el("h2", {}, g.meta.name),
            el(
              "span",
              { class: "count" },
              `${g.ops.length} operation${g.ops.length > 1 ? "s" : ""}`,
            ),
            g.meta.description
              ? el("span", { class: "group-desc" }, g.meta.description)
              : null,
          ),
          g.ops.map((o) => (o.el = renderOperation(o))),
        );
        main.append(section);
        return { section, ops: g.ops };
      },
    );
    const empty = el(
      "p",
      { class: "status-note", hidden: true },
      "No operations match the filter.",
    );
    main.append(empty);
    $("filter").addEventListener("input", (e) => {
      const words = e.target.value.toLowerCase().split(/\s+/).filter(Boolean);
      let any = false;
      for (const { section, ops: list } of sections) {
        for (const o of list) {
          o.el.hidden = !words.every((w) => o.haystack.includes(w));
        }
        section.hidden = list.every((o) => o.el.hidden);
        if (!section.hidden && words.length) section.open = true;
        any = any || !section.hidden;
      }
      empty.hidden = any;
    });
    const target = location.hash &&
      document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (target && target.classList.contains("op")) {
      target.open = true;
      target.scrollIntoView();
    }
  }
  function renderOperation(o) {
    const { op, method } = o;
    const security = (op.security || spec.security || []).filter((r) =>
      isObj(r) && Object.keys(r).length
    );
    const d = el(
      "details",
      { class: `op m-${method}`, id: o.id },
      el(
        "summary",
        {},
        el("span", { class: `badge m-${method}` }, method.toUpperCase()),
        el(
          "code",
          { class: "op-path" + (op.deprecated ? " deprecated" : "") },
          o.path,
        ),
        el("span", { class: "op-sum" }, op.summary || ""),
        security.length
          ? el("span", {
            class: "chip auth",
            title: "security: " +
              security.flatMap((r) => Object.keys(r)).join(", "),
          }, "auth")
          : null,
        op.deprecated ? el("span", { class: "chip warn" }, "deprecated") : null,
      ),
    );
    d.addEventListener("toggle", () => {
      if (!d.open) return;
      if (!d.dataset.built) {
        d.dataset.built = "1";
        d.append(renderOperationBody(o));
      } // built lazily on first open
      history.replaceState(null, "", "#" + o.id);
    });
    return d;
  }
  const section = (title, ...kids) =>
    el("section", { class: "op-section" }, el("h3", {}, title), kids);
  function pickMedia(content) {
    const types = Object.keys(content || {});
    const ct = types.find((t) => /^application\/(.+\+)?json/i.test(t)) ||
      types[0];
    return ct ? { ct, media: deref(content[ct]) } : null;
  }
  const mediaList = (content) =>
    Object.entries(content || {}).map(([ct, m]) =>
      el(
        "div",
        { class: "media" },
        el("div", { class: "ctype" }, ct),
        deref(m).schema ? schemaTree(deref(m).schema) : null,
      )
    );
  function renderOperationBody(o) {
    const { op } = o;
    const body = el(
      "div",
      { class: "op-body" },
      op.operationId
        ? el(
          "div",
          { class: "op-id" },
          "operationId: ",
          el("code", {}, op.operationId),
        )
        : null,
      paragraphs(op.description, "op-desc"),
    );
    if (o.params.length) {
      const rows = o.params.map((p) => {
        const sch = p.schema ||
          (pickMedia(p.content) || { media: {} }).media.schema || {};
        return el(
          "tr",
          {},
          el(
            "td",
            {},
            el("code", { class: p.deprecated ? "deprecated" : null }, p.name),
            p.required
              ? el("span", { class: "req", title: "required" }, " *")
              : null,
          ),
          el("td", {}, p.in),
          el(
            "td",
            {},
            el("span", { class: "stype" }, typeLabel(sch)),
            " ",
            chips(normalize(sch).s),
          ),
          el("td", {}, p.description || ""),
        );
      });
      const head = el(
        "tr",
        {},
        ["Name", "In", "Type", "Description"].map((h) => el("th", {}, h)),
      );
      body.append(
        section(
          "Parameters",
          el(
            "div",
            { class: "table-wrap" },
            el(
              "table",
              { class: "params" },
              el("thead", {}, head),
              el("tbody", {}, rows),
            ),
          ),
        ),
      );
    }
    const rb = op.requestBody ? deref(op.requestBody) : null;
    if (rb) {
      body.append(
        section(
          "Request body" + (rb.required ? " (required)" : ""),
          paragraphs(rb.description, "op-desc"),
          mediaList(rb.content),
        ),
      );
    }
    const responses = Object.entries(op.responses || {});
    if (responses.length) {
      body.append(section(
        "Responses",
        responses.map(([code, raw]) => {
          const r = deref(raw);
          const headers = Object.keys(r.headers || {});
          return el(
            "div",
            { class: "response" },
            el(
              "div",
              { class: "response-head" },
              el("span", { class: "code c" + code.charAt(0) }, code),
              el("span", {}, r.description || ""),
            ),
            headers.length
              ? el(
                "div",
                { class: "resp-headers" },
                "Headers: ",
                headers.map((h) => el("code", {}, h)),
              )
              : null,
            mediaList(r.content),
          );
        }),
      ));
    }
    body.append(renderTryIt(o, rb));
    return body;
  }

  // ---------- try it out ----------
  let inputSeq = 0;
  function paramInput(p) {
    const { s, types } = normalize(p.schema || {});
    const ex = [firstExample(p), firstExample(s), s.default].find((v) =>
      v !== undefined && v !== null
    );
    const id = "tryit-input-" + ++inputSeq;
    let input;
    if (Array.isArray(s.enum) || types[0] === "boolean") {
      input = el(
        "select",
        { id },
        el("option", { value: "" }, "—"),
        (s.enum || [true, false]).map((v) =>
          el("option", { value: String(v) }, String(v))
        ),
      );
    } else {input = el("input", {
        id,
        type: "text",
        placeholder: typeLabel(p.schema || {}),
        autocomplete: "off",
        spellcheck: "false",
      });}
    if (ex !== undefined) {
      input.value = typeof ex === "object" ? JSON.stringify(ex) : String(ex);
    }
    const gen = p.in === "header" && p.name.toLowerCase() === "idempotency-key"
      ? el("button", {
        type: "button",
        class: "btn small",
        onclick: () => {
          input.value = crypto.randomUUID();
        },
      }, "generate")
      : null;
    return {
      p,
      input,
      row: el(
        "div",
        { class: "form-row" },
        el(
          "label",
          { for: id },
          el("code", {}, p.name),
          p.required ? el("span", { class: "req" }, " *") : null,
          el("span", { class: "muted" }, " " + p.in),
        ),
        el("div", { class: "input-line" }, input, gen),
      ),
    };
  }
  function renderTryIt(o, rb) {
    const inputs = o.params.filter((p) =>
      ["path", "query", "header"].includes(p.in)
    ).map(paramInput);
    const picked = rb ? pickMedia(rb.content) : null;
    const initialBody = () => {
      const ex = firstExample(picked.media) ??
        exampleFor(picked.media.schema || {});
      return typeof ex === "string" && !/json/i.test(picked.ct)
        ? ex
        : JSON.stringify(ex, null, 2);
    };
    const textarea = picked
      ? el("textarea", {
        class: "body-input",
        rows: 10,
        spellcheck: "false",
        "aria-label": "Request body",
      })
      : null;
    if (textarea) textarea.value = initialBody();
    const out = el("div", { class: "result", "aria-live": "polite" });
    const sendBtn = el(
      "button",
      { type: "submit", class: "btn primary" },
      "Send",
    );
    const form = el(
      "form",
      { class: "tryit", novalidate: true },
      el("h3", {}, "Try it out"),
      inputs.map((i) => i.row),
      textarea
        ? el(
          "div",
          { class: "form-row" },
          el("label", {}, "Body ", el("span", { class: "muted" }, picked.ct)),
          textarea,
        )
        : null,
      el(
        "div",
        { class: "actions" },
        sendBtn,
        textarea
          ? el("button", {
            type: "button",
            class: "btn",
            onclick: () => {
              textarea.value = initialBody();
            },
          }, "Reset example")
          : null,
        el("button", {
          type: "button",
          class: "btn",
          onclick: () => out.replaceChildren(),
        }, "Clear"),
      ),
      out,
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      sendBtn.disabled = true;
      sendBtn.textContent = "Sending…";
      send(o, inputs, textarea, picked, out).finally(() => {
        sendBtn.disabled = false;
        sendBtn.textContent = "Send";
      });
    });
    return form;
  }
  const problem = (out, msg) =>
    out.replaceChildren(el("div", { class: "error" }, msg));
  async function send(o, inputs, textarea, picked, out) {
    let path = o.path;
    const query = new URLSearchParams();
    const headers = new Headers();
    for (const { p, input } of inputs) {
      const v = input.value.trim();
      if (!v) {
        if (p.required) {
          return problem(
            out,
            `Missing required ${p.in} parameter "${p.name}".`,
          );
        }
        continue;
      }
      if (p.in === "path") {
        path = path.split("{" + p.name + "}").join(encodeURIComponent(v));
      } else if (
        p.in === "query" && normalize(p.schema || {}).types[0] === "array"
      ) v.split(",").forEach((x) => query.append(p.name, x.trim()));
      else if (p.in === "query") query.append(p.name, v);
      else {try {
          headers.set(p.name, v);
        } catch {
          return problem(out, `Invalid value for header "${p.name}".`);
        }}
    }
    const token = $("auth-token").value.trim();
    if (token && !headers.has("authorization")) {
      try {
        headers.set(
          "Authorization",
          /^bearer\s/i.test(token) ? token : "Bearer " + token,
        );
      } catch {
        return problem(out, "The token is not a valid header value.");
      }
    }
    let body;
    if (
      textarea && textarea.value.trim() && !["get", "head"].includes(o.method)
    ) {
      body = textarea.value;
      if (/json/i.test(picked.ct)) {
        try {
          JSON.parse(body);
        } catch (err) {
          return problem(
            out,
            "Request body is not valid JSON: " + errText(err),
          );
        }
      }
      headers.set("Content-Type", picked.ct);
    }
    const server = spec.servers && spec.servers[0] && spec.servers[0].url; // only same-origin relative server URLs are honoured
    const base = typeof server === "string" && /^\/[^/]/.test(server)
      ? server.replace(/\/$/, "")
      : "";
    const qs = query.toString();
    const url = new URL(base + path + (qs ? "?" + qs : ""), location.origin);
    const label = `${o.method.toUpperCase()} ${url.pathname}${url.search}`;
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), REQUEST_TIMEOUT_MS);
    const t0 = performance.now();
    out.replaceChildren(el("div", { class: "muted" }, label + " …"));
    try {
      const res = await fetch(url, {
        method: o.method.toUpperCase(),
        headers,
        body,
        signal: ctrl.signal,
        cache: "no-store",
        credentials: "same-origin",
      });
      const ct = res.headers.get("content-type") || "";
      let view;
      if (/text\/event-stream/i.test(ct)) {
        view = await streamView(res, url, o.method);
      } else {
        let text = await res.text();
        if (/json/i.test(ct) && text) {
          try {
            text = JSON.stringify(JSON.parse(text), null, 2);
          } catch { /* show raw */ }
        }
        view = el("pre", { class: "resp-body" }, text || "(empty body)");
      }
      out.replaceChildren(
        el(
          "div",
          { class: "result-head" },
          el(
            "span",
            { class: "code c" + String(res.status).charAt(0) },
            String(res.status),
          ),
          el("span", {}, res.statusText || ""),
          el(
            "span",
            { class: "muted" },
            `${Math.round(performance.now() - t0)} ms`,
          ),
          el("code", { class: "muted url" }, label),
        ),
        headersView(res.headers),
        view,
      );
    } catch (err) {
      problem(
        out,
        (err && err.name === "AbortError"
          ? "Request timed out: "
          : "Request failed: ") + errText(err),
      );
    } finally {
      clearTimeout(timer);
    }
  }
  function headersView(h) {
    const rest = [...h.entries()].filter(([n]) => !KEY_HEADERS.includes(n));
    return el(
      "details",
      { class: "resp-headers-box", open: true },
      el("summary", {}, "Response headers"),
      el(
        "dl",
        { class: "headers" },
        KEY_HEADERS.map((
          n,
        ) => [
          el("dt", { class: "key" }, n),
          el("dd", { class: h.has(n) ? null : "muted" }, h.get(n) ?? "—"),
        ]),
        rest.map(([n, v]) => [el("dt", {}, n), el("dd", {}, v)]),
      ),
    );
  }
  // Never await an SSE body to the end: show a short preview, cancel, and offer a link to open the stream.
  async function streamView(res, url, method) {
    const box = el(
      "div",
      { class: "stream" },
      el(
        "p",
        {},
        "This response is a text/event-stream (server-sent events); it was not read to the end.",
      ),
    );
    if (method === "get" && url.origin === location.origin) {
      box.append(
        el(
          "p",
          {},
          el(
            "a",
            { href: url.href, target: "_blank", rel: "noopener" },
            "Open the stream in a new tab",
          ),
          el(
            "span",
            { class: "muted" },
            " (opened that way, no Authorization header is sent)",
          ),
        ),
      );
    }
    let preview = "";
    if (res.body) {
      const reader = res.body.getReader();
      const dec = new TextDecoder();
      const deadline = Date.now() + STREAM_PREVIEW_MS;
      try {
        while (preview.length < 4000 && Date.now() < deadline) {
          const r = await Promise.race([
            reader.read(),
            new Promise((ok) => setTimeout(ok, deadline - Date.now(), null)),
          ]);
          if (!r || r.done) break;
          preview += dec.decode(r.value, { stream: true });
        }
      } catch { /* a broken stream is fine for a preview */ }
      reader.cancel().catch(() => {});
    }
    box.append(
      el(
        "div",
        { class: "muted" },
        `Received in the first ${STREAM_PREVIEW_MS / 1000} s:`,
      ),
      el("pre", { class: "resp-body" }, preview || "(nothing yet)"),
    );
    return box;
  }

  // ---------- page wiring ----------
  function initToolbar() {
    const tok = $("auth-token");
    const store = (fn) => {
      try {
        return fn(sessionStorage);
      } catch {
        return null;
      }
    }; // storage may be disabled
    tok.value = store((s) => s.getItem(TOKEN_KEY)) || "";
    tok.addEventListener(
      "input",
      () => store((s) => s.setItem(TOKEN_KEY, tok.value)),
    );
    $("auth-clear").addEventListener("click", () => {
      tok.value = "";
      store((s) => s.removeItem(TOKEN_KEY));
    });
    $("expand-all").addEventListener(
      "click",
      () =>
        document.querySelectorAll("details.group, details.op").forEach((d) => {
          if (!d.hidden) d.open = true;
        }),
    );
    $("collapse-all").addEventListener(
      "click",
      () =>
        document.querySelectorAll("details.op").forEach((d) => {
          d.open = false;
        }),
    );
    document.addEventListener("keydown", (e) => {
      if (
        e.key === "/" && e.target instanceof Element &&
        !e.target.closest("input, textarea, select, [contenteditable]")
      ) {
        e.preventDefault();
        $("filter").focus();
      }
    });
  }
  async function main() {
    initToolbar();
    try {
      const res = await fetch(SPEC_URL, {
        headers: { Accept: "application/json" },
        cache: "no-store",
      });
      if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`);
      spec = await res.json();
      if (!isObj(spec)) throw new Error("the document is not a JSON object");
      fixLocalRefs(spec, "", null, 0);
    } catch (err) {
      $("ops").replaceChildren(
        el(
          "p",
          { class: "error" },
          `Could not load ${SPEC_URL}: ${errText(err)}`,
        ),
      );
      return;
    }
    renderSpec();
  }
  main(); // the script is loaded with `defer`, so the DOM is ready
})();
