/* The console: a hash-routed page over the JSON API. Each view makes one API request (plus its refreshes);
   the execution view reads /executions/…/{name}/graph, which holds the execution, its graph and every node. */
(function () {
  "use strict";
  const { TERMINAL, PHASES, enc, esc, phase, json, when, duration, api, post, typeText, fieldValue, parentOf,
    rollup } = Slip;
  const REFRESH_MS = 1000;
  const view = document.getElementById("view");
  let timers = [];
  let generation = 0;

  function status(text) { document.getElementById("status").textContent = text; }
  function crumbs(parts) {
    document.getElementById("crumbs").innerHTML = parts.map(([t, h]) => `<a href="${h}">${esc(t)}</a>`).join("/ ");
  }
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
    const active = page.active_version;  // launch plans: the answer names the active version (null: none is)
    const link = (v) => `<a href="#/p/${p}/${d}/${kind}/${enc(name)}/${enc(v)}">${esc(v)}</a>`;
    const badge = `<span class="badge active" id="active-version">active</span>`;
    view.innerHTML = `${domainNav(p, d, kind)}<h1>${esc(name)}</h1><p class="muted">Versions, newest first${
      active === null ? " · no version is active" : ""}</p>
      <table id="versions"><tr><th>Version</th><th>Registered</th><th>Digest</th></tr>${page.entities.map((e) =>
        `<tr data-version="${esc(e.id.version)}"><td>${link(e.id.version)}${e.id.version === active ? ` ${badge}` : ""}
        </td><td>${when(e.registered_at)}</td><td class="muted">${esc(e.digest.slice(0, 12))}</td></tr>`).join("")}
      </table>${active && !page.entities.some((e) => e.id.version === active) ? `<p>Active: ${link(active)}</p>` : ""}
      ${page.token ? `<p><a href="#/p/${p}/${d}/${kind}/${enc(name)}?token=${enc(page.token)}">More</a></p>` : ""}`;
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
  async function execution(p, d, name, query) {
    const mine = generation;
    const tab = query.get("tab") || "graph";
    const state = { selected: query.get("node"), groups: null, data: null };
    const panel = { p, d, name, state, live: () => mine === generation, keep: (timer) => timers.push(timer) };
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
        state.selected = id; draw(); SlipPanel.show(panel);
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
        main.innerHTML = SlipTimeline.render(nodes, x);
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
    if (state.selected) SlipPanel.show(panel);
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
