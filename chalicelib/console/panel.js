/* The node panel of the execution page (window.SlipPanel): a node's phase, attempts, error and log tail (the
   tail refreshed while it runs), a gate's form, and a map's items, a dynamic task's children or a subworkflow's
   nodes opened in place. `show(ctx)`: ctx.p, .d, .name, .state ({selected, data}: the /graph answer), .live()
   (false once the page moved on) and .keep(timer) (cleared when it does). */
(function () {
  "use strict";
  const { TERMINAL, esc, enc, phase, duration, api, post, typeText, fieldValue, parentOf, rollup, childrenOf } = Slip;

  const GATE_WAITS = (x, n) => !TERMINAL.includes(x.phase) && !(n && TERMINAL.includes(n.phase));

  /* A signal or approval gate that still waits gets a form: a value input typed by the gate's type, or
     approve / reject. The value may come before the gate is reached; the API keeps it until then. */
  function gateForm(g) {
    if (g.gate === "approve") {
      return `<div class="gate" data-gate="${esc(g.name)}"><p>Approval <b>${esc(g.name)}</b> waits</p><div class="actions">
        <button id="gate-approve">Approve</button><button class="danger" id="gate-reject">Reject</button></div>
        <p id="gate-result"></p></div>`;
    }
    const simple = g.type && g.type.simple;
    const input = simple === "boolean" ? `<select id="gate-value"><option>true</option><option>false</option></select>`
      : ["integer", "float"].includes(simple) ? `<input id="gate-value" type="number" step="${simple === "integer" ? 1 : "any"}">`
      : simple ? `<input id="gate-value" type="text" placeholder="${esc(simple)}">`
      : `<textarea id="gate-value" rows="3" placeholder="JSON"></textarea>`;
    return `<form class="gate launch" data-gate="${esc(g.name)}" id="gate-form"><p>Signal <b>${esc(g.name)}</b> waits
      for a value</p><label for="gate-value">value: ${esc(typeText(g.type))}</label>${input}
      <div class="actions"><button id="gate-submit" type="submit">Send</button></div><p id="gate-result"></p></form>`;
  }

  function wireGate(p, d, name, g, after) {
    const result = document.getElementById("gate-result");
    const send = (value) => post(`executions/${p}/${d}/${enc(name)}/signals/${enc(g.name)}`, { value })
      .then((r) => { result.textContent = `sent ${JSON.stringify(r.value)}`; after(); })
      .catch((err) => { result.innerHTML = `<span class="error">${esc(err.message)}</span>`; });
    if (g.gate === "approve") {
      document.getElementById("gate-approve").onclick = () => send(true);
      document.getElementById("gate-reject").onclick = () => send(false);
      return;
    }
    document.getElementById("gate-form").onsubmit = (event) => {
      event.preventDefault();
      let value;
      try { value = fieldValue({ type: g.type }, document.getElementById("gate-value").value); } catch (err) {
        result.innerHTML = `<span class="error">not ${esc(typeText(g.type))}: ${esc(err.message)}</span>`;
        return;
      }
      send(value);
    };
  }

  const childKey = (id) => id.slice(id.search(/[./][^./]*$/) + 1);
  function byItem(a, b) {
    const ia = Number(a.node_id.split(".").pop()), ib = Number(b.node_id.split(".").pop());
    return Number.isNaN(ia) || Number.isNaN(ib) ? a.node_id.localeCompare(b.node_id, "en", { numeric: true }) : ia - ib;
  }

  /* Map items, dynamic children and a subworkflow's nodes, opened in place: a chip per map item (failures
     listed), a row per other child; each opens in this panel like a node of the graph. */
  /* A gathered map's own record summarizes its items (`items`); in a batched map each child is a pod running
     items first..first+batch_size-1, labelled by that range. */
  function childrenView(children, items) {
    const kind = children.length && children.every((c) => /\.\d+$/.test(c.node_id)) ? "map" : "other";
    if (!children.length) return "";
    const counts = {};
    children.forEach((c) => { counts[c.phase] = (counts[c.phase] || 0) + 1; });
    const batch = items && items.batch_size > 1 ? items.batch_size : 0;
    const label = (c) => {
      const first = Number(childKey(c.node_id));
      return batch ? `${first}–${Math.min(first + batch, items.count) - 1}` : childKey(c.node_id);
    };
    const summary = items ? `<p>${items.count} items: ${items.succeeded} succeeded, ${items.failed} failed${
      batch ? ` (${children.length} pods of ${batch})` : ""}</p>` :
      `<p>${children.length} ${kind === "map" ? "items" : "children"}: ${Object.entries(counts)
        .map(([k, v]) => `${v} ${esc(k)}`).join(", ")}</p>`;
    const sorted = [...children].sort(byItem);
    if (kind === "map") {
      const shown = sorted.slice(0, 400);
      const failures = sorted.filter((c) => c.error || ["FAILED", "TIMED_OUT"].includes(c.phase));
      return `${summary}<div class="chips" id="children">${shown.map((c) => `<a class="chip p-${esc(c.phase)}"
        data-child="${esc(c.node_id)}" title="${esc(c.node_id)} ${esc(c.phase)}">${esc(label(c))}</a>`)
        .join("")}${sorted.length > shown.length ? `<span class="muted"> +${sorted.length - shown.length} more</span>` :
        ""}</div>${failures.length ? `<h2>Failures</h2>${failures.slice(0, 20).map((c) => `<p class="error"><a data-child="${esc(c.node_id)}">${esc(label(c))}</a>: ${c.error ? esc(c.error.message) :
        `${esc(c.phase)} (open it for its log)`}</p>`).join("")}${
        failures.length > 20 ? `<p class="muted">+${failures.length - 20} more</p>` : ""}` : ""}`;
    }
    return `${summary}<table id="children"><tr><th>Child</th><th>Task</th><th>Phase</th><th>Duration</th></tr>${
      sorted.slice(0, 200).map((c) => `<tr><td><a data-child="${esc(c.node_id)}">${esc(childKey(c.node_id))}</a></td>
      <td>${esc(c.task && c.task.name)}</td><td>${phase(c.phase)}</td><td>${duration(c.started_at, c.ended_at)}</td>
      </tr>`).join("")}</table>`;
  }

  function show(ctx) {
    const { p, d, name, state } = ctx;
    const panel = document.getElementById("node-panel");
    const id = state.selected;
    const xPhase = state.data.execution.phase;
    const top = parentOf(id);
    const shape = state.data.graph.nodes.find((x) => x.id === top) || {};
    const children = childrenOf(state.data.nodes, id, xPhase);
    const own = state.data.nodes.find((x) => x.node_id === id);
    const n = own ||
      (children.length ? { node_id: id, phase: rollup(children.map((c) => c.phase), xPhase), attempts: 0 } : undefined);
    const up = id === top ? null : id.slice(0, id.search(/[./][^./]*$/));
    const g = id === top && shape.gate && shape.gate.gate !== "sleep" ? shape.gate : null;
    panel.innerHTML = `${up ? `<p><a id="to-parent" data-child="${esc(up)}">← ${esc(up)}</a></p>` : ""}
      <h2>${esc(id)} ${phase(n && n.phase)}</h2>${n ? `<p>${g ? `${esc(g.gate)} ${esc(g.name)}` :
      esc((n.task && n.task.name) || shape.entity)} ·
      attempts ${n.attempts}${n.cache_hit ? " · cache hit" : ""} · ${duration(n.started_at, n.ended_at)}</p>
      ${n.pod ? `<p class="muted">pod ${esc(n.pod)}</p>` : ""}${own && SlipTimeline.attemptsOf(own).length > 1 ?
      SlipTimeline.table(own) : ""}${n.error ? `<p class="error">${esc(n.error.code)}: ${
      esc(n.error.message)}</p>` : ""}` : `<p class="muted">has not run</p>`}${
      g && GATE_WAITS(state.data.execution, n) ? gateForm(g) : ""}${childrenView(children, own && own.items)}
      ${g || !own || (children.length && !own.started_at) ? "" : `<h2>Log tail</h2><pre id="node-logs" class="muted">…</pre>`}`;
    panel.querySelectorAll("[data-child]").forEach((a) => {
      a.onclick = () => { state.selected = a.dataset.child; show(ctx); };
    });
    if (g) {
      if (GATE_WAITS(state.data.execution, n)) {
        wireGate(p, d, name, g, () => setTimeout(() => api(`executions/${p}/${d}/${enc(name)}/graph`).then((data) => {
          if (!ctx.live()) return;
          state.data = data;
          if (state.selected === id) show(ctx);
        }), 500));
      }
      return;  // a gate runs no pod: it has no log
    }
    if (!document.getElementById("node-logs")) return;  // a subworkflow or a map: their nodes have the logs
    const load = () => api(`executions/${p}/${d}/${enc(name)}/logs?node=${enc(id)}`).then((r) => {
      const el = document.getElementById("node-logs");
      if (el && state.selected === id) el.textContent = r.logs.split("\n").slice(-60).join("\n") || "(empty)";
    }).catch((err) => {
      const el = document.getElementById("node-logs");
      if (el && state.selected === id) el.textContent = err.message;
    });
    if (n && n.started_at) load(); else document.getElementById("node-logs").textContent = "(not started)";
    if (n && !TERMINAL.includes(n.phase)) {
      const timer = setInterval(() => {
        if (!ctx.live() || state.selected !== id) { clearInterval(timer); return; }
        load();
      }, 2000);
      ctx.keep(timer);
    }
  }

  window.SlipPanel = { show };
})();
