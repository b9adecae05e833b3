// api.js: talking to /api/v1 (JSON, the session's CSRF token on writes,
// a 401 sends the browser to the login page) and small formatting helpers
// shared by the pages.

export const session = { user: null, role: 'viewer', csrf: null, authRequired: false };

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

export async function api(method, path, body) {
  const opts = { method, headers: {}, credentials: 'same-origin' };
  // Every write says JSON, even with no body: on loopback the server
  // refuses writes without it (an HTML form elsewhere cannot send it).
  if (method !== 'GET') opts.headers['Content-Type'] = 'application/json';
  if (body !== undefined) opts.body = JSON.stringify(body);
  if (method !== 'GET' && session.csrf) opts.headers['X-CSRF-Token'] = session.csrf;
  const r = await fetch(path, opts);
  if (r.status === 401 && path !== '/api/v1/session') {
    location.href = '/login';
    throw new ApiError(401, 'not logged in');
  }
  const type = r.headers.get('content-type') || '';
  const data = type.includes('json') ? await r.json() : await r.text();
  if (!r.ok) throw new ApiError(r.status, (data && data.error) || r.statusText);
  return data;
}

export const get = (path) => api('GET', path);

// Path segments are ids chosen by users: escape each one.
export const seg = (s) => encodeURIComponent(s);

export function esc(v) {
  return String(v ?? '').replace(/[&<>"']/g, (c) =>
    ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

export function canOperate() {
  return session.role === 'operator' || session.role === 'admin';
}

// "2024-03-01T10:11:12.345+00:00" -> "2024-03-01 10:11:12"
export function fmtTime(iso) {
  if (!iso) return '';
  return iso.replace('T', ' ').replace(/(\.\d+)?\+00:00$/, '');
}

export function fmtDuration(start, end) {
  if (!start) return '';
  const ms = (end ? Date.parse(end) : Date.now()) - Date.parse(start);
  if (!(ms >= 0)) return '';
  if (ms < 1000) return ms + ' ms';
  const s = ms / 1000;
  if (s < 60) return s.toFixed(1) + ' s';
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${Math.round(s % 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function statePill(state) {
  return `<span class="pill state-${esc(state || 'none')}">${esc(state || 'none')}</span>`;
}

export function flash(msg, bad) {
  const el = document.getElementById('flash');
  el.textContent = msg;
  el.className = bad ? 'flash bad' : 'flash';
  el.hidden = false;
  clearTimeout(flash.timer);
  flash.timer = setTimeout(() => { el.hidden = true; }, bad ? 8000 : 4000);
}
