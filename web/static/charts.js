// charts.js: small hand-written SVG line charts for the analytics page:
// one series against the x column (dates), points placed by row order,
// a few y grid lines with compact labels, and a tooltip per point.

import { esc } from './api.js';

function compact(v) {
  const a = Math.abs(v);
  if (a >= 1e15) return v.toExponential(2);
  const units = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  for (const [u, s] of units) if (a >= u) return +(v / u).toPrecision(3) + s;
  return Number.isInteger(v) ? String(v) : v.toPrecision(3);
}

// xs: labels; ys: numbers (NaN for missing).  Returns SVG markup.
export function lineChart(title, xs, ys, opts = {}) {
  const W = opts.width || 400, H = opts.height || 190;
  const L = 52, R = 12, T = 26, B = 34;
  const vals = ys.filter(Number.isFinite);
  let lo = Math.min(...vals), hi = Math.max(...vals);
  if (!vals.length) { lo = 0; hi = 1; }
  if (lo === hi) { lo -= 1; hi += 1; }
  if (lo > 0 && lo < hi * 0.5) lo = 0;
  const n = ys.length;
  const px = (i) => L + (n <= 1 ? (W - L - R) / 2 : (i * (W - L - R)) / (n - 1));
  const py = (v) => T + (H - T - B) * (1 - (v - lo) / (hi - lo));
  let grid = '';
  for (let k = 0; k <= 3; k++) {
    const v = lo + ((hi - lo) * k) / 3, y = py(v).toFixed(1);
    grid += `<line class="grid" x1="${L}" x2="${W - R}" y1="${y}" y2="${y}"/>` +
      `<text x="${L - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${esc(compact(v))}</text>`;
  }
  let path = '', dots = '';
  ys.forEach((v, i) => {
    if (!Number.isFinite(v)) return;
    const x = px(i).toFixed(1), y = py(v).toFixed(1);
    path += (path ? ' L' : 'M') + x + ' ' + y;
    if (n <= 120) {
      dots += `<circle cx="${x}" cy="${y}" r="2.6"><title>${esc(xs[i])}: ${esc(v)}</title></circle>`;
    }
  });
  const xl = n ? `<text x="${L}" y="${H - 12}">${esc(xs[0])}</text>` +
    (n > 1 ? `<text x="${W - R}" y="${H - 12}" text-anchor="end">${esc(xs[n - 1])}</text>` : '') : '';
  return `<svg class="chart" data-series="${esc(title)}" width="${W}" height="${H}" ` +
    `viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}">` +
    `<text class="title" x="${L}" y="16">${esc(title)}</text>${grid}` +
    `<line class="axis" x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}"/>` +
    `<line class="axis" x1="${L}" x2="${L}" y1="${T}" y2="${H - B}"/>` +
    `<path class="line" d="${path}"/>${dots}${xl}</svg>`;
}
