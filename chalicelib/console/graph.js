/* Layered DAG layout and SVG drawing of an execution's graph, written here rather than vendored (dagre,
   elkjs): a workflow's graph is a DAG whose edges all point forward, so longest-path layering plus a few
   barycenter sweeps to reduce crossings is enough, costs O(sweeps x edges) for any size (1,000 nodes lay out
   in a few milliseconds), and needs no build step or npm package in the Python install.
   The drawing is made once per workflow version; a refresh only changes each node's phase class. */
(function () {
  "use strict";
  const W = 150, H = 26, GX = 60, GY = 12, PAD = 16;
  const SVG = "http://www.w3.org/2000/svg";

  function layout(graph) {
    const ids = graph.nodes.map((n) => n.id);
    const ups = new Map(ids.map((id) => [id, []]));
    const downs = new Map(ids.map((id) => [id, []]));
    for (const [a, b] of graph.edges) {
      if (ups.has(a) && ups.has(b)) { ups.get(b).push(a); downs.get(a).push(b); }
    }
    // Longest path from the sources, in topological order (Kahn).
    const indeg = new Map(ids.map((id) => [id, ups.get(id).length]));
    const layer = new Map(ids.map((id) => [id, 0]));
    const queue = ids.filter((id) => indeg.get(id) === 0);
    for (let i = 0; i < queue.length; i++) {
      const id = queue[i];
      for (const d of downs.get(id)) {
        layer.set(d, Math.max(layer.get(d), layer.get(id) + 1));
        indeg.set(d, indeg.get(d) - 1);
        if (indeg.get(d) === 0) queue.push(d);
      }
    }
    const layers = [];
    for (const id of ids) {
      const l = layer.get(id);
      (layers[l] = layers[l] || []).push(id);
    }
    const pos = new Map();
    const index = () => layers.forEach((ls) => ls.forEach((id, i) => pos.set(id, i)));
    index();
    const sweep = (list, neighbours) => {
      const bary = new Map(list.map((id) => {
        const ns = neighbours.get(id);
        return [id, ns.length ? ns.reduce((s, n) => s + pos.get(n), 0) / ns.length : pos.get(id)];
      }));
      list.sort((a, b) => bary.get(a) - bary.get(b));
      list.forEach((id, i) => pos.set(id, i));
    };
    for (let round = 0; round < 4; round++) {
      for (let l = 1; l < layers.length; l++) sweep(layers[l], ups);
      for (let l = layers.length - 2; l >= 0; l--) sweep(layers[l], downs);
    }
    const tallest = Math.max(1, ...layers.map((ls) => ls.length));
    const xy = new Map();
    layers.forEach((ls, l) => {
      const offset = (tallest - ls.length) * (H + GY) / 2;
      ls.forEach((id, i) => xy.set(id, [PAD + l * (W + GX), PAD + offset + i * (H + GY)]));
    });
    return { xy, edges: graph.edges.filter(([a, b]) => xy.has(a) && xy.has(b)), nodes: graph.nodes,
             width: 2 * PAD + layers.length * (W + GX) - GX, height: 2 * PAD + tallest * (H + GY) - GY };
  }

  function el(name, attrs) {
    const e = document.createElementNS(SVG, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  }

  /* Draw the laid-out graph into `box`; returns a map node id -> <g>, for `paint`. */
  function render(box, lay, onSelect) {
    const svg = el("svg", { width: lay.width, height: lay.height, viewBox: `0 0 ${lay.width} ${lay.height}` });
    let d = "";
    for (const [a, b] of lay.edges) {
      const [x1, y1] = lay.xy.get(a), [x2, y2] = lay.xy.get(b);
      const sx = x1 + W, sy = y1 + H / 2, ty = y2 + H / 2, mx = (sx + x2) / 2;
      d += `M${sx},${sy}C${mx},${sy} ${mx},${ty} ${x2},${ty}`;
    }
    svg.appendChild(el("path", { d }));  // one path for every edge: cheap to draw at 1,000 nodes
    const groups = new Map();
    const frag = document.createDocumentFragment();
    for (const n of lay.nodes) {
      const [x, y] = lay.xy.get(n.id);
      const g = el("g", { class: "n p-NONE", transform: `translate(${x},${y})`, "data-node": n.id,
                           "data-phase": "NONE", "data-kind": n.kind });
      g.appendChild(el("rect", { width: W, height: H }));
      const t = el("text", { x: 6, y: 17 });
      const mark = n.gate ? (n.gate.gate === "sleep" ? "◷ " : "‖ ") : "";
      const label = mark + (n.entity ? `${n.id} ${n.entity.split(".").pop()}` : n.id);
      t.textContent = label.length > 24 ? label.slice(0, 23) + "…" : label;
      g.appendChild(t);
      const title = el("title", {});
      title.textContent = `${n.id} (${n.kind}) ${n.entity || ""}`;
      g.appendChild(title);
      g.addEventListener("click", () => onSelect(n.id));
      groups.set(n.id, g);
      frag.appendChild(g);
    }
    svg.appendChild(frag);
    box.replaceChildren(svg);
    return groups;
  }

  /* Set each node's phase (id -> phase; a node absent has not started). */
  function paint(groups, phases, selected) {
    for (const [id, g] of groups) {
      const cls = `n p-${phases.get(id) || "NONE"}${id === selected ? " sel" : ""}`;
      if (g.getAttribute("class") !== cls) {
        g.setAttribute("class", cls);
        g.setAttribute("data-phase", phases.get(id) || "NONE");
      }
    }
  }

  window.SlipGraph = { layout, render, paint };
})();
