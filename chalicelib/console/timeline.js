/* A node's attempts (window.SlipTimeline): the execution's timeline, one row per node and one bar per attempt
   in it, colored by how the attempt ended (a retry's gap shows as the space between two bars), and the
   attempts table of the node panel. Both read the node executions of the /graph answer. */
(function () {
  "use strict";
  const { TERMINAL, esc, duration, phase } = Slip;

  /* A node's attempts: those before its last (`previous_attempts`), then the node itself, which is its last. */
  function attemptsOf(n) {
    if (!n.started_at) return [];
    const last = { attempt: Math.max(n.attempts - 1, 0), started_at: n.started_at, ended_at: n.ended_at,
      outcome: TERMINAL.includes(n.phase) ? n.phase : "RUNNING", error: n.error && n.error.message };
    return [...(n.previous_attempts || []), last];
  }
  const plural = (count, noun) => `${count} ${noun}${count === 1 ? "" : "s"}`;
  const end = (a) => (a.ended_at ? new Date(a.ended_at) : Date.now());
  const label = (n, a, count) => `${n.node_id} · attempt ${a.attempt + 1} of ${count} · ${a.outcome} · ${
    duration(a.started_at, a.ended_at)}${a.error ? ` · ${a.error}` : ""}`;

  function render(nodes, x) {
    const rows = nodes.map((n) => [n, attemptsOf(n)]).filter(([, list]) => list.length);
    if (!rows.length) return `<p class="muted">No node has started yet</p>`;
    let t0 = Infinity, t1 = x.ended_at ? new Date(x.ended_at) : 0, bars = 0, retried = 0;
    for (const [, list] of rows) {
      t0 = Math.min(t0, new Date(list[0].started_at));
      t1 = Math.max(t1, ...list.map(end));
      bars += list.length;
      retried += list.length > 1 ? 1 : 0;
    }
    const span = Math.max(t1 - t0, 1);
    const pct = (ms) => (100 * ms / span).toFixed(2);
    return `<div class="timeline" id="timeline">${rows.map(([n, list]) => `<div class="tl-row" data-node="${
      esc(n.node_id)}"><span title="${esc(n.node_id)}">${esc(n.node_id)}${list.length > 1 ?
      ` <b class="tl-tries">×${list.length}</b>` : ""}</span><div class="tl-track">${list.map((a) => {
        const s = new Date(a.started_at) - t0, e = end(a) - t0;
        return `<div class="tl-bar p-${esc(a.outcome)}" data-attempt="${a.attempt}" data-outcome="${esc(a.outcome)}"
          title="${esc(label(n, a, list.length))}" style="left:${pct(s)}%;width:${pct(e - s)}%"></div>`;
      }).join("")}</div></div>`).join("")}<p class="muted">${duration(new Date(t0).toISOString(),
      new Date(t1).toISOString())} in all · ${plural(rows.length, "node")} · ${plural(bars, "attempt")}${retried ?
      ` · ${plural(retried, "node")} retried` : ""}</p></div>`;
  }

  function table(n) {
    const list = attemptsOf(n);
    if (!list.length) return "";
    return `<table id="attempts"><tr><th>Attempt</th><th>Outcome</th><th>Started</th><th>Duration</th></tr>${
      list.map((a) => `<tr data-attempt="${a.attempt}"><td>${a.attempt + 1}</td><td>${phase(a.outcome)}</td><td>${
        esc(new Date(a.started_at).toLocaleTimeString())}</td><td>${duration(a.started_at, a.ended_at)}</td></tr>${
        a.error ? `<tr><td></td><td colspan="3" class="error">${esc(a.error)}</td></tr>` : ""}`).join("")}</table>`;
  }

  window.SlipTimeline = { render, table, attemptsOf };
})();
