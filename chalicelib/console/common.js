/* What every part of the console shares (window.Slip): escaping and formatting, the JSON API, type names
   and how node execution ids nest. Loaded first; holds no state. */
(function () {
  "use strict";
  const API = new URL("../api/v1/", location.href).href;
  const TERMINAL = ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"];

  function esc(value) {
    return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;",
      '"': "&quot;", "'": "&#39;" }[c]));
  }
  function duration(start, end) {
    if (!start) return "";
    const ms = (end ? new Date(end) : new Date()) - new Date(start);
    return ms < 60000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60000)} min ${Math.round(ms / 1000) % 60} s`;
  }

  async function api(path, options) {
    const answer = await fetch(API + path, { headers: { "Content-Type": "application/json" }, ...options });
    const text = await answer.text();
    let body = null;
    try { body = text ? JSON.parse(text) : null; } catch (e) { body = { error: { message: text } }; }
    if (!answer.ok) {
      const message = (body && body.error && body.error.message) || (body && body.Message) || answer.statusText;
      throw new Error(`${answer.status}: ${message}`);
    }
    return body;
  }

  function typeText(t) {
    if (!t || typeof t !== "object") return String(t);
    if (t.simple) return t.simple;
    if (t.list) return `list[${typeText(t.list)}]`;
    if (t.map) return `dict[str, ${typeText(t.map)}]`;
    if (t.optional) return `optional[${typeText(t.optional)}]`;
    return JSON.stringify(t);
  }
  function fieldValue(field, raw) {
    const simple = field.type && field.type.simple;
    if (["string", "datetime", "date", "duration"].includes(simple)) return raw;
    return JSON.parse(raw);
  }

  /* Node execution ids nest: `n2.3` is item 3 of map n2, `n1/n0` a dynamic child of n1, `n0.n1` node n1 of
     subworkflow n0 (which has no record of its own); the graph draws the top-level id. */
  const parentOf = (nodeId) => nodeId.split(/[./]/)[0];
  /* A node with no record of its own (a subworkflow) takes its phase from what ran inside it. */
  function rollup(phases, executionPhase) {
    if (!phases.length) return undefined;
    if (phases.some((x) => x === "FAILED" || x === "TIMED_OUT")) return "FAILED";
    if (phases.some((x) => !TERMINAL.includes(x))) return "RUNNING";
    if (phases.every((x) => x === "SUCCEEDED")) return TERMINAL.includes(executionPhase) ? "SUCCEEDED" : "RUNNING";
    return phases.includes("ABORTED") ? "ABORTED" : "SUCCEEDED";
  }
  /* The direct children of `id` (record or not), each {node_id, phase, ...record}. */
  function childrenOf(nodes, id, executionPhase) {
    const byKey = new Map();
    for (const c of nodes) {
      const sep = c.node_id[id.length];
      if (c.node_id.length <= id.length || !c.node_id.startsWith(id) || (sep !== "." && sep !== "/")) continue;
      const rest = c.node_id.slice(id.length + 1);
      const cut = rest.search(/[./]/);
      const key = id + sep + (cut < 0 ? rest : rest.slice(0, cut));
      if (!byKey.has(key)) byKey.set(key, { own: null, inner: [] });
      if (cut < 0) byKey.get(key).own = c; else byKey.get(key).inner.push(c.phase);
    }
    return [...byKey].map(([key, { own, inner }]) => own || { node_id: key, phase: rollup(inner, executionPhase),
      attempts: 0 });
  }

  window.Slip = {
    TERMINAL, esc, duration, api, typeText, fieldValue, parentOf, rollup, childrenOf,
    PHASES: ["QUEUED", "RUNNING", ...TERMINAL],
    enc: encodeURIComponent,
    post: (path, body) => api(path, { method: "POST", body: JSON.stringify(body || {}) }),
    phase: (p) => `<span class="phase p-${esc(p || "NONE")}">${esc(p || "not started")}</span>`,
    json: (v) => `<pre>${esc(JSON.stringify(v, null, 2))}</pre>`,
    when: (iso) => (iso ? new Date(iso).toLocaleString() : ""),
  };
})();
