// graph.js: the graph view of a DAG as SVG.  Tasks go in columns by the
// length of the longest path from a root (a layered layout, as Airflow's
// graph reads left to right), edges are curves from a task to each task
// downstream of it, and each node is coloured by its state in one run.

import { esc } from './api.js';

const NW = 160, NH = 30, GX = 70, GY = 18, PAD = 16;
const DARK = new Set(['success', 'failed', 'upstream_failed']);

// dag: the /api/v1/dags/{id} answer; states: task_id -> state;
// link(task_id) -> href or null.
export function graphSvg(dag, states, link) {
  const layer = {}, ups = {};
  for (const t of dag.tasks) ups[t.task_id] = t.upstream;
  for (const id of dag.order) {
    layer[id] = Math.max(0, ...ups[id].map((u) => layer[u] + 1));
  }
  const cols = [];
  for (const id of dag.order) (cols[layer[id]] ||= []).push(id);
  const pos = {};
  cols.forEach((ids, c) => ids.forEach((id, r) => {
    pos[id] = { x: PAD + c * (NW + GX), y: PAD + r * (NH + GY) };
  }));
  const W = PAD * 2 + cols.length * NW + Math.max(0, cols.length - 1) * GX;
  const H = PAD * 2 + Math.max(1, ...cols.map((c) => c.length)) * (NH + GY) - GY;
  let edges = '', nodes = '';
  for (const e of dag.edges) {
    const a = pos[e.source], b = pos[e.target];
    const x1 = a.x + NW, y1 = a.y + NH / 2, x2 = b.x, y2 = b.y + NH / 2, mx = (x1 + x2) / 2;
    edges += `<path class="edge" marker-end="url(#arrow)" d="M${x1} ${y1} C${mx} ${y1} ${mx} ${y2} ${x2 - 2} ${y2}"/>`;
  }
  for (const id of dag.order) {
    const p = pos[id], st = states[id] || 'none', href = link(id);
    const label = id.length > 22 ? id.slice(0, 21) + '…' : id;
    const node = `<g class="node" data-task="${esc(id)}" data-state="${esc(st)}">` +
      `<rect x="${p.x}" y="${p.y}" width="${NW}" height="${NH}" style="fill: var(--s-${esc(st)})"/>` +
      `<text x="${p.x + 10}" y="${p.y + NH / 2}" style="fill: ${DARK.has(st) ? '#fff' : '#1d2228'}">` +
      `${esc(label)}<title>${esc(id)}: ${esc(st)}</title></text></g>`;
    nodes += href ? `<a href="${esc(href)}">${node}</a>` : node;
  }
  return `<svg id="graph" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">` +
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" ' +
    'markerHeight="7" orient="auto"><path d="M0 0 L10 5 L0 10 z" fill="#8795a1"/></marker></defs>' +
    `${edges}${nodes}</svg>`;
}
