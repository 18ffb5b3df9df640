/* The console: a hash-routed page over the JSON API. Each view makes one API request (plus its refreshes);
   the execution view reads /executions/…/{name}/graph, which holds the execution, its graph and every node. */
(function () {
  "use strict";
  const API = new URL("../api/v1/", location.href).href;
  const TERMINAL = ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"];
  const PHASES = ["QUEUED", "RUNNING", ...TERMINAL];
  const REFRESH_MS = 1000;
  const view = document.getElementById("view");
  let timers = [];
  let generation = 0;

  const enc = encodeURIComponent;
  function esc(value) {
    return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;",
      '"': "&quot;", "'": "&#39;" }[c]));
  }
  const phase = (p) => `<span class="phase p-${esc(p || "NONE")}">${esc(p || "not started")}</span>`;
  const json = (v) => `<pre>${esc(JSON.stringify(v, null, 2))}</pre>`;
  const when = (iso) => (iso ? new Date(iso).toLocaleString() : "");
  function duration(start, end) {
    if (!start) return "";
    const ms = (end ? new Date(end) : new Date()) - new Date(start);
    return ms < 60000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60000)} min ${Math.round(ms / 1000) % 60} s`;
  }
  function status(text) { document.getElementById("status").textContent = text; }
  function crumbs(parts) {
    document.getElementById("crumbs").innerHTML = parts.map(([t, h]) => `<a href="${h}">${esc(t)}</a>`).join("/ ");
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
  const post = (path, body) => api(path, { method: "POST", body: JSON.stringify(body || {}) });

  function every(ms, fn) { timers.push(setInterval(fn, ms)); }
  function fail(error) { view.innerHTML = `<p class="error" data-test="error">${esc(error.message)}</p>`; }

  // ---- views ---------------------------------------------------------------------------------------------
  async function projects() {
    crumbs([]);
    const { projects: list } = await api("projects");
    view.innerHTML = `<h1>Projects</h1><table><tr><th>Project</th><th>Description</th><th>Domains</th></tr>${
      list.map((p) => `<tr><td>${esc(p.name)}</td><td>${esc(p.description)}</td><td>${(p.domains || []).map((d) =>
        `<a href="#/p/${enc(p.name)}/${enc(d)}/executions">${esc(d)}</a>`).join(" · ")}</td></tr>`).join("")}</table>`;
  }

  function domainNav(p, d, on) {
    const tabs = [["executions", "Executions"], ["workflows", "Workflows"], ["tasks", "Tasks"],
      ["launch_plans", "Launch plans"]];
    crumbs([[p, "#/"], [d, `#/p/${p}/${d}/executions`]]);
    return `<p class="tabs">${tabs.map(([k, t]) =>
      `<a class="${k === on ? "on" : ""}" href="#/p/${p}/${d}/${k}">${t}</a>`).join("")}</p>`;
  }

  async function executions(p, d, query) {
    const phaseFilter = query.get("phase") || "";
    const workflow = query.get("workflow") || "";
    const params = new URLSearchParams({ limit: "25" });
    if (phaseFilter) params.set("phase", phaseFilter);
    if (workflow) params.set("workflow", workflow);
    if (query.get("token")) params.set("token", query.get("token"));
    const page = await api(`executions/${p}/${d}?${params}`);
    const base = `#/p/${p}/${d}/executions`;
    const keep = (extra) => {
      const q = new URLSearchParams(extra);
      if (phaseFilter && !q.has("phase")) q.set("phase", phaseFilter);
      if (workflow && !q.has("workflow")) q.set("workflow", workflow);
      return `${base}?${q}`;
    };
    view.innerHTML = `${domainNav(p, d, "executions")}<h1>Executions</h1>
      <div class="filters">Phase <select id="phase-filter"><option value="">all</option>${PHASES.map((x) =>
        `<option ${x === phaseFilter ? "selected" : ""}>${x}</option>`).join("")}</select>
      ${workflow ? `workflow ${esc(workflow)} <a href="${base}${phaseFilter ? `?phase=${phaseFilter}` : ""}">×</a>` : ""}
      </div>
      <table id="executions" data-filter="${esc(phaseFilter)}"><tr><th>Execution</th><th>Phase</th><th>Workflow</th><th>Launch plan</th>
      <th>Started</th><th>Duration</th></tr>${page.executions.map((x) => `<tr data-execution="${esc(x.id.name)}">
        <td><a href="#/p/${p}/${d}/x/${enc(x.id.name)}">${esc(x.id.name)}</a></td><td>${phase(x.phase)}</td>
        <td><a href="${keep({ workflow: x.workflow.name })}">${esc(x.workflow.name)}</a></td>
        <td>${x.launch_plan ? esc(x.launch_plan.name) : ""}</td><td>${when(x.started_at || x.created_at)}</td>
        <td>${duration(x.started_at, x.ended_at)}</td></tr>`).join("")}</table>
      <p>${query.get("token") ? `<a href="${keep({})}">First page</a> ` : ""}${page.token ?
        `<a id="next-page" href="${keep({ token: page.token })}">Next page</a>` : ""}</p>`;
    document.getElementById("phase-filter").onchange = (e) => {
      location.hash = e.target.value ? `${base}?phase=${e.target.value}` : base;
    };
  }

  const KIND = { workflows: ["workflow_ids", "workflows"], tasks: ["task_ids", "tasks"],
                 launch_plans: ["launch_plan_ids", "launch_plans"] };

  async function names(p, d, kind, query) {
    const token = query.get("token");
    const page = await api(`${KIND[kind][0]}/${p}/${d}?limit=100${token ? `&token=${enc(token)}` : ""}`);
    view.innerHTML = `${domainNav(p, d, kind)}<table><tr><th>Name</th><th>Latest version</th><th>Updated</th></tr>${
      page.entities.map((e) => `<tr><td><a href="#/p/${p}/${d}/${kind}/${enc(e.name)}">${esc(e.name)}</a></td>
      <td><a href="#/p/${p}/${d}/${kind}/${enc(e.name)}/${enc(e.latest_version)}">${esc(e.latest_version)}</a></td>
      <td>${when(e.updated_at)}</td></tr>`).join("")}</table>${page.token ?
      `<p><a href="#/p/${p}/${d}/${kind}?token=${enc(page.token)}">Next page</a></p>` : ""}`;
  }

  async function versions(p, d, kind, name, query) {
    const token = query.get("token");
    const page = await api(`${KIND[kind][1]}/${p}/${d}/${enc(name)}?limit=50${token ? `&token=${enc(token)}` : ""}`);
    view.innerHTML = `${domainNav(p, d, kind)}<h1>${esc(name)}</h1><p class="muted">Versions, newest first</p>
      <table><tr><th>Version</th><th>Registered</th><th>Digest</th></tr>${page.entities.map((e) =>
        `<tr><td><a href="#/p/${p}/${d}/${kind}/${enc(name)}/${enc(e.id.version)}">${esc(e.id.version)}</a></td>
        <td>${when(e.registered_at)}</td><td class="muted">${esc(e.digest.slice(0, 12))}</td></tr>`).join("")}</table>
      ${page.token ? `<p><a href="#/p/${p}/${d}/${kind}/${enc(name)}?token=${enc(page.token)}">More</a></p>` : ""}`;
  }

  function typeText(t) {
    if (!t || typeof t !== "object") return String(t);
    if (t.simple) return t.simple;
    if (t.list) return `list[${typeText(t.list)}]`;
    if (t.map) return `dict[str, ${typeText(t.map)}]`;
    if (t.optional) return `optional[${typeText(t.optional)}]`;
    return JSON.stringify(t);
  }
  function interfaceTable(iface) {
    const rows = (vars, io) => vars.map((v) => `<tr><td>${io}</td><td>${esc(v.name)}</td><td>${esc(typeText(v.type))}
      </td><td>${"default" in v ? esc(JSON.stringify(v.default)) : ""}</td></tr>`).join("");
    return `<table><tr><th></th><th>Name</th><th>Type</th><th>Default</th></tr>${rows(iface.inputs || [], "in")}
      ${rows(iface.outputs || [], "out")}</table>`;
  }

  function activeBadge(active, version) {
    if (active === version) return `<span class="badge active" id="active-badge" data-active="yes">active</span>`;
    return `<span class="badge" id="active-badge" data-active="no">${active ?
      `inactive · active version ${esc(active)}` : "inactive · no version is active"}</span>`;
  }

  async function entity(p, d, kind, name, version) {
    // a launch plan's page reads its form answer: the plan and the name's active version in one request
    const form = kind === "launch_plans" ? await api(`launch_plans/${p}/${d}/${enc(name)}/${enc(version)}/form`) : null;
    const e = form ? form.launch_plan : await api(`${KIND[kind][1]}/${p}/${d}/${enc(name)}/${enc(version)}`);
    const spec = e.spec;
    let extra = "";
    if (kind === "launch_plans") {
      extra = `<p>${activeBadge(form.active_version, version)}${form.active_version && form.active_version !== version ?
        ` <a href="#/p/${p}/${d}/launch_plans/${enc(name)}/${enc(form.active_version)}">open the active version</a>`
        : ""}</p><div class="actions"><a class="button" id="launch" href="#/p/${p}/${d}/launch/${enc(name)}/${
        enc(version)}">Launch…</a><button id="activate" ${
        form.active_version === version ? "disabled" : ""}>Activate this version</button>
        <button id="deactivate">Deactivate</button></div>
        <p>Workflow <a href="#/p/${p}/${d}/workflows/${enc(spec.workflow.name)}/${enc(spec.workflow.version)}">${
        esc(spec.workflow.name)}@${esc(spec.workflow.version)}</a>; schedule ${esc(spec.schedule ?
        JSON.stringify(spec.schedule) : "none")}</p><h2>Fixed inputs</h2>${json(spec.fixed_inputs)}
        <h2>Default inputs</h2>${json(spec.default_inputs)}`;
    } else {
      extra = `${interfaceTable(spec.interface)}${kind === "workflows" ? `<p><a href="#/p/${p}/${d}/executions?workflow=${
        enc(name)}">Executions of this workflow</a></p>` : ""}`;
    }
    view.innerHTML = `${domainNav(p, d, kind)}<h1>${esc(name)} <span class="muted">@${esc(version)}</span></h1>
      ${extra}<details><summary>Spec (JSON)</summary>${json(spec)}</details><p id="action-result"></p>`;
    if (kind === "launch_plans") {
      const result = document.getElementById("action-result");
      const act = (path, body) => post(path, body).then(() => route())
        .catch((err) => { result.innerHTML = `<span class="error">${esc(err.message)}</span>`; });
      document.getElementById("activate").onclick = () => act(`launch_plans/${p}/${d}/${enc(name)}/activate`,
        { version });
      document.getElementById("deactivate").onclick = () => act(`launch_plans/${p}/${d}/${enc(name)}/deactivate`, {});
    }
  }

  function fieldValue(field, raw) {
    const simple = field.type && field.type.simple;
    if (["string", "datetime", "date", "duration"].includes(simple)) return raw;
    return JSON.parse(raw);
  }

  async function launch(p, d, name, version) {
    const form = await api(`launch_plans/${p}/${d}/${enc(name)}/${enc(version)}/form`);
    const text = (f, v) => (v === null || v === undefined ? "" :
      typeof v === "string" && ["string", "datetime", "date", "duration"].includes(f.type && f.type.simple) ? v :
      JSON.stringify(v));
    view.innerHTML = `${domainNav(p, d, "launch_plans")}<h1>Launch ${esc(name)} <span class="muted">@${esc(version)}
      </span></h1><form class="launch" id="launch-form">${form.inputs.map((f) => `<label for="in-${esc(f.name)}">${
        esc(f.name)} <span class="muted">${esc(typeText(f.type))}${f.required ? ", required" : ""}${f.fixed ?
        ", fixed by the plan" : ""}</span></label><input id="in-${esc(f.name)}" name="${esc(f.name)}" ${f.fixed ?
        "disabled" : ""} value="${esc(text(f, f.fixed ? f.value : null))}" placeholder="${esc(text(f, f.default))}">`)
        .join("")}<p><button type="submit" id="launch-submit">Launch</button></p><p id="launch-error" class="error">
        </p></form>`;
    document.getElementById("launch-form").onsubmit = async (event) => {
      event.preventDefault();
      const inputs = {};
      try {
        for (const f of form.inputs) {
          const raw = document.getElementById(`in-${f.name}`).value;
          if (f.fixed || raw === "") continue;
          inputs[f.name] = fieldValue(f, raw);
        }
        const x = await post(`executions/${p}/${d}`, { launch_plan: { name, version }, inputs });
        location.hash = `#/p/${p}/${d}/x/${x.id.name}`;
      } catch (err) {
        document.getElementById("launch-error").textContent = err.message;
      }
    };
  }

  // ---- one execution -------------------------------------------------------------------------------------
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

  async function execution(p, d, name, query) {
    const mine = generation;
    const tab = query.get("tab") || "graph";
    const state = { selected: query.get("node"), groups: null, data: null };
    const base = `#/p/${p}/${d}/x/${enc(name)}`;
    crumbs([[p, "#/"], [d, `#/p/${p}/${d}/executions`], [name, base]]);
    const first = await api(`executions/${p}/${d}/${enc(name)}/graph`);
    view.innerHTML = `<h1>${esc(name)} <span id="x-phase"></span></h1>
      <p class="muted" id="x-meta"></p><div class="actions"><button class="danger" id="terminate">Terminate</button>
      <button id="relaunch">Relaunch</button></div><p id="x-error" class="error"></p>
      <p class="tabs">${[["graph", "Graph"], ["timeline", "Timeline"], ["nodes", "Nodes"], ["io", "Inputs & outputs"]]
        .map(([k, t]) => `<a class="${k === tab ? "on" : ""}" href="${base}?tab=${k}">${t}</a>`).join("")}</p>
      <div class="cols"><div id="main"></div><div class="panel" id="node-panel"><p class="muted">Select a node</p>
      </div></div>`;
    document.getElementById("terminate").onclick = () => post(`executions/${p}/${d}/${enc(name)}/terminate`)
      .then(refresh).catch(showError);
    document.getElementById("relaunch").onclick = () => post(`executions/${p}/${d}/${enc(name)}/relaunch`)
      .then((x) => { location.hash = `#/p/${p}/${d}/x/${x.id.name}`; }).catch(showError);
    const main = document.getElementById("main");
    if (tab === "graph") {
      main.innerHTML = `<div id="graph"></div>`;
      const lay = SlipGraph.layout(first.graph);
      state.groups = SlipGraph.render(document.getElementById("graph"), lay, (id) => {
        state.selected = id; draw(); showNode(p, d, name, state, mine);
      });
    }
    function showError(err) { document.getElementById("x-error").textContent = err.message; }
    let drawnPhase = null;  // what the page shows; a gate's answer may fetch the end before the page draws it
    function draw() {
      const { execution: x, nodes } = state.data;
      drawnPhase = x.phase;
      document.getElementById("x-phase").innerHTML = phase(x.phase);
      document.getElementById("terminate").disabled = TERMINAL.includes(x.phase);
      document.getElementById("x-meta").innerHTML = `workflow <a href="#/p/${p}/${d}/workflows/${enc(x.workflow.name)}/${
        enc(x.workflow.version)}">${esc(x.workflow.name)}@${esc(x.workflow.version)}</a>${x.launch_plan ?
        ` · launch plan ${esc(x.launch_plan.name)}` : ""} · started ${when(x.started_at)} · ${duration(x.started_at,
        x.ended_at)}`;
      const failed = nodes.find((n) => n.error && ["FAILED", "TIMED_OUT"].includes(n.phase));
      document.getElementById("x-error").innerHTML = x.error ? `${esc(x.error.code)}: ${esc(x.error.message)}${
        failed ? ` — node <a href="${base}?tab=${tab}&node=${enc(failed.node_id)}">${esc(failed.node_id)}</a>` : ""}` : "";
      if (tab === "graph") {
        const inner = new Map();
        for (const n of nodes) {
          const top = parentOf(n.node_id);
          if (top !== n.node_id) (inner.get(top) || inner.set(top, []).get(top)).push(n.phase);
        }
        const phases = new Map(nodes.filter((n) => n.node_id === parentOf(n.node_id)).map((n) => [n.node_id, n.phase]));
        for (const [top, list] of inner) if (!phases.has(top)) phases.set(top, rollup(list, x.phase));
        SlipGraph.paint(state.groups, phases, state.selected);
      } else if (tab === "timeline") {
        main.innerHTML = timeline(nodes, x);
      } else if (tab === "nodes") {
        main.innerHTML = nodeTable(nodes, base);
      } else {
        main.innerHTML = `<h2>Inputs</h2>${ioTable(state.data.graph.interface.inputs, x.inputs)}<h2>Outputs</h2>${
          ioTable(state.data.graph.interface.outputs, x.outputs)}`;
      }
    }
    async function refresh() {
      if (mine !== generation) return;
      state.data = await api(`executions/${p}/${d}/${enc(name)}/graph`);
      draw();
      status(`refreshed ${new Date().toLocaleTimeString()}`);
    }
    state.data = first;
    draw();
    performance.mark("execution-drawn");  // bench/console_render.py reads these two
    requestAnimationFrame(() => setTimeout(() => performance.mark("execution-painted")));  // after the next frame
    if (state.selected) showNode(p, d, name, state, mine);
    if (!TERMINAL.includes(first.execution.phase)) {
      every(REFRESH_MS, () => {
        if (TERMINAL.includes(drawnPhase)) return;
        refresh().catch((err) => status(err.message));
      });
    }
  }

  function ioTable(vars, values) {
    if (!values) return `<p class="muted">none yet</p>`;
    return `<table><tr><th>Name</th><th>Type</th><th>Value</th></tr>${(vars || []).map((v) =>
      `<tr><td>${esc(v.name)}</td><td>${esc(typeText(v.type))}</td><td><code>${esc(JSON.stringify(values[v.name]))}
      </code></td></tr>`).join("")}</table>`;
  }

  function nodeTable(nodes, base) {
    return `<table id="node-table"><tr><th>Node</th><th>Task</th><th>Phase</th><th>Attempts</th><th>Cache</th>
      <th>Duration</th></tr>${nodes.map((n) => `<tr><td><a href="${base}?tab=nodes&node=${enc(n.node_id)}">${
      esc(n.node_id)}</a></td><td>${esc(n.task && n.task.name)}</td><td>${phase(n.phase)}</td><td>${n.attempts}</td>
      <td>${n.cache_hit ? "hit" : ""}</td><td>${duration(n.started_at, n.ended_at)}</td></tr>`).join("")}</table>`;
  }

  function timeline(nodes, x) {
    const started = nodes.filter((n) => n.started_at);
    if (!started.length) return `<p class="muted">No node has started yet</p>`;
    const t0 = Math.min(...started.map((n) => new Date(n.started_at)));
    const t1 = Math.max(...started.map((n) => (n.ended_at ? new Date(n.ended_at) : Date.now())),
      x.ended_at ? new Date(x.ended_at) : 0);
    const span = Math.max(t1 - t0, 1);
    return `<div class="timeline" id="timeline">${started.map((n) => {
      const s = new Date(n.started_at) - t0, e = (n.ended_at ? new Date(n.ended_at) : Date.now()) - t0;
      return `<div class="tl-row" title="${esc(n.node_id)} ${duration(n.started_at, n.ended_at)}"><span>${
        esc(n.node_id)}</span><div class="tl-track"><div class="tl-bar p-${esc(n.phase)}" style="left:${
        (100 * s / span).toFixed(2)}%;width:${(100 * (e - s) / span).toFixed(2)}%"></div></div></div>`;
    }).join("")}<p class="muted">${duration(new Date(t0).toISOString(), new Date(t1).toISOString())} in all</p></div>`;
  }

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
  function childrenView(children) {
    const kind = children.length && children.every((c) => /\.\d+$/.test(c.node_id)) ? "map" : "other";
    if (!children.length) return "";
    const counts = {};
    children.forEach((c) => { counts[c.phase] = (counts[c.phase] || 0) + 1; });
    const summary = `<p>${children.length} ${kind === "map" ? "items" : "children"}: ${Object.entries(counts)
      .map(([k, v]) => `${v} ${esc(k)}`).join(", ")}</p>`;
    const sorted = [...children].sort(byItem);
    if (kind === "map") {
      const shown = sorted.slice(0, 400);
      const failures = sorted.filter((c) => c.error || ["FAILED", "TIMED_OUT"].includes(c.phase));
      return `${summary}<div class="chips" id="children">${shown.map((c) => `<a class="chip p-${esc(c.phase)}"
        data-child="${esc(c.node_id)}" title="${esc(c.node_id)} ${esc(c.phase)}">${esc(childKey(c.node_id))}</a>`)
        .join("")}${sorted.length > shown.length ? `<span class="muted"> +${sorted.length - shown.length} more</span>` :
        ""}</div>${failures.length ? `<h2>Failures</h2>${failures.slice(0, 20).map((c) => `<p class="error"><a data-child="${esc(c.node_id)}">${esc(childKey(c.node_id))}</a>: ${c.error ? esc(c.error.message) :
        `${esc(c.phase)} (open it for its log)`}</p>`).join("")}${
        failures.length > 20 ? `<p class="muted">+${failures.length - 20} more</p>` : ""}` : ""}`;
    }
    return `${summary}<table id="children"><tr><th>Child</th><th>Task</th><th>Phase</th><th>Duration</th></tr>${
      sorted.slice(0, 200).map((c) => `<tr><td><a data-child="${esc(c.node_id)}">${esc(childKey(c.node_id))}</a></td>
      <td>${esc(c.task && c.task.name)}</td><td>${phase(c.phase)}</td><td>${duration(c.started_at, c.ended_at)}</td>
      </tr>`).join("")}</table>`;
  }

  function showNode(p, d, name, state, mine) {
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
      ${n.pod ? `<p class="muted">pod ${esc(n.pod)}</p>` : ""}${n.error ? `<p class="error">${esc(n.error.code)}: ${
      esc(n.error.message)}</p>` : ""}` : `<p class="muted">has not run</p>`}${
      g && GATE_WAITS(state.data.execution, n) ? gateForm(g) : ""}${childrenView(children)}
      ${g || !own || (children.length && !own.started_at) ? "" : `<h2>Log tail</h2><pre id="node-logs" class="muted">…</pre>`}`;
    panel.querySelectorAll("[data-child]").forEach((a) => {
      a.onclick = () => { state.selected = a.dataset.child; showNode(p, d, name, state, mine); };
    });
    if (g) {
      if (GATE_WAITS(state.data.execution, n)) {
        wireGate(p, d, name, g, () => setTimeout(() => api(`executions/${p}/${d}/${enc(name)}/graph`).then((data) => {
          if (mine !== generation) return;
          state.data = data;
          if (state.selected === id) showNode(p, d, name, state, mine);
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
        if (mine !== generation || state.selected !== id) { clearInterval(timer); return; }
        load();
      }, 2000);
      timers.push(timer);
    }
  }

  // ---- router --------------------------------------------------------------------------------------------
  async function route() {
    generation += 1;
    timers.forEach(clearInterval);
    timers = [];
    status("");
    const [path, search] = (location.hash.slice(1) || "/").split("?");
    const query = new URLSearchParams(search || "");
    const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
    try {
      if (parts[0] !== "p") return await projects();
      const [, p, d, what, name, version] = parts;
      if (what === "x") return await execution(p, d, name, query);
      if (what === "launch") return await launch(p, d, name, version);
      if (KIND[what] && version) return await entity(p, d, what, name, version);
      if (KIND[what] && name) return await versions(p, d, what, name, query);
      if (KIND[what]) return await names(p, d, what, query);
      return await executions(p, d, query);
    } catch (err) {
      fail(err);
    }
  }
  window.addEventListener("hashchange", route);
  route();
})();
