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

const COLORS = ['#0b6bcb', '#d9622b', '#2e9e44', '#8e44ad', '#c0392b', '#16a5a5', '#b7950b', '#5d6d7e'];

// xs: labels; series: [{name, ys}] with a number (NaN for missing) per x,
// or one array of numbers.  Returns SVG markup.
export function lineChart(title, xs, series, opts = {}) {
  if (!series.length || typeof series[0] === 'number') series = [{ name: null, ys: series }];
  const W = opts.width || 400, H = (opts.height || 190) + (series.length > 1 ? 14 : 0);
  const L = 52, R = 12, T = series.length > 1 ? 40 : 26, B = 34;
  const vals = series.flatMap((s) => s.ys).filter(Number.isFinite);
  let lo = Math.min(...vals), hi = Math.max(...vals);
  if (!vals.length) { lo = 0; hi = 1; }
  if (lo === hi) { lo -= 1; hi += 1; }
  if (lo > 0 && lo < hi * 0.5) lo = 0;
  const n = xs.length;
  const px = (i) => L + (n <= 1 ? (W - L - R) / 2 : (i * (W - L - R)) / (n - 1));
  const py = (v) => T + (H - T - B) * (1 - (v - lo) / (hi - lo));
  let grid = '';
  for (let k = 0; k <= 3; k++) {
    const v = lo + ((hi - lo) * k) / 3, y = py(v).toFixed(1);
    grid += `<line class="grid" x1="${L}" x2="${W - R}" y1="${y}" y2="${y}"/>` +
      `<text x="${L - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${esc(compact(v))}</text>`;
  }
  let lines = '', legend = '';
  series.forEach((s, k) => {
    const color = COLORS[k % COLORS.length];
    let path = '', dots = '';
    s.ys.forEach((v, i) => {
      if (!Number.isFinite(v)) return;
      const x = px(i).toFixed(1), y = py(v).toFixed(1);
      path += (path ? ' L' : 'M') + x + ' ' + y;
      if (n <= 120) {
        dots += `<circle cx="${x}" cy="${y}" r="2.6" style="fill: ${color}"><title>` +
          `${esc(s.name ? s.name + ' ' : '')}${esc(xs[i])}: ${esc(v)}</title></circle>`;
      }
    });
    lines += `<g class="series" data-name="${esc(s.name ?? '')}"><path class="line" style="stroke: ${color}" ` +
      `d="${path}"/>${dots}</g>`;
    if (s.name !== null) {
      legend += `<text x="${L + k * 90}" y="32" style="fill: ${color}">${esc(s.name)}</text>`;
    }
  });
  const xl = n ? `<text x="${L}" y="${H - 12}">${esc(xs[0])}</text>` +
    (n > 1 ? `<text x="${W - R}" y="${H - 12}" text-anchor="end">${esc(xs[n - 1])}</text>` : '') : '';
  return `<svg class="chart" data-series="${esc(title)}" width="${W}" height="${H}" ` +
    `viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}">` +
    `<text class="title" x="${L}" y="16">${esc(title)}</text>${grid}` +
    `<line class="axis" x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}"/>` +
    `<line class="axis" x1="${L}" x2="${L}" y1="${T}" y2="${H - B}"/>` +
    `${lines}${legend}${xl}</svg>`;
}
