// Shared helpers for the inbox (/) and the admin dashboard (/admin/).
// Everything that shows data goes through textContent (see el()); never innerHTML.

/**
 * Creates an element. attrs: plain attributes, plus `class`, `text` (textContent), `on` ({event: fn}),
 * `dataset` ({key: value}), `hidden` (boolean) and properties for form controls (`value`, `checked`, …).
 * Children: nodes or strings (strings become text nodes).
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = String(v);
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) node.addEventListener(ev, fn);
    else if (k === 'dataset') for (const [dk, dv] of Object.entries(v)) node.dataset[dk] = String(dv);
    else if (k === 'value' || k === 'checked' || k === 'selected' || k === 'disabled' || k === 'multiple') node[k] = v;
    else if (v === true) node.setAttribute(k, '');
    else node.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

export function $(sel, root = document) {
  return root.querySelector(sel);
}

// ---- tokens and session --------------------------------------------------------------------------

export function decodeJwt(token) {
  try {
    const part = String(token).split('.')[1];
    if (!part) return null;
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '=');
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return null;
  }
}

// The roles the server reads: the token's `role` claim only, one string or an array, each value exactly as written
// (AuthSetup). Other names ("roles", Microsoft's claim URI) would show controls the server then refuses.
export function rolesOf(payload) {
  const v = payload ? payload.role : undefined;
  if (Array.isArray(v)) return [...new Set(v.map((r) => String(r)))];
  return typeof v === 'string' ? [v] : [];
}

export function splitList(text) {
  return String(text || '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Session kept in sessionStorage: {accessToken, expiresAt, userId, roles, mode: 'dev'|'token'}. */
export function createSession(key) {
  return {
    get() {
      try {
        const s = JSON.parse(sessionStorage.getItem(key) || 'null');
        return s && s.accessToken ? s : null;
      } catch {
        return null;
      }
    },
    set(s) {
      sessionStorage.setItem(key, JSON.stringify(s));
    },
    clear() {
      sessionStorage.removeItem(key);
    },
  };
}

export function sessionFromToken(accessToken, mode, extra = {}) {
  const p = decodeJwt(accessToken) || {};
  const exp = typeof p.exp === 'number' ? new Date(p.exp * 1000).toISOString() : null;
  return {
    accessToken,
    expiresAt: extra.expiresAt || exp,
    userId: extra.userId || p.sub || '',
    roles: extra.roles || rolesOf(p),
    mode,
  };
}

export function msUntilExpiry(s) {
  if (!s || !s.expiresAt) return Infinity;
  const t = Date.parse(s.expiresAt);
  return Number.isFinite(t) ? t - Date.now() : Infinity;
}

export async function requestDevToken(userId, roles) {
  const res = await fetch('/dev/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({ userId, roles }),
  });
  if (res.status === 404) {
    const e = new Error('Development sign-in is not available on this server.');
    e.notDevelopment = true;
    throw e;
  }
  if (!res.ok) {
    const problem = await readJson(res);
    throw new ApiError(res.status, problem, problemMessage(res.status, problem));
  }
  const data = await res.json();
  return sessionFromToken(data.accessToken, 'dev', { expiresAt: data.expiresAt, userId, roles });
}

/**
 * Returns a function that yields a currently valid token: dev sessions are re-minted shortly before they
 * expire; a pasted token that has expired calls onExpired() and yields null.
 */
export function tokenProvider(session, onExpired) {
  let refreshing = null;
  return async function getToken() {
    const s = session.get();
    if (!s) return null;
    const left = msUntilExpiry(s);
    if (left > 60_000) return s.accessToken;
    if (s.mode === 'dev') {
      if (!refreshing) {
        refreshing = requestDevToken(s.userId, s.roles)
          .then((fresh) => {
            session.set(fresh);
            return fresh.accessToken;
          })
          .catch(() => (left > 0 ? s.accessToken : null))
          .finally(() => {
            refreshing = null;
          });
      }
      return refreshing;
    }
    if (left > 0) return s.accessToken;
    onExpired?.();
    return null;
  };
}

// ---- REST ----------------------------------------------------------------------------------------

export class ApiError extends Error {
  constructor(status, problem, message) {
    super(message || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || null;
  }
}

async function readJson(res) {
  const text = await res.text().catch(() => '');
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

export function problemMessage(status, problem) {
  if (problem && typeof problem === 'object') {
    const parts = [problem.title, problem.detail].filter((x) => typeof x === 'string' && x);
    if (parts.length) return parts.join(' — ');
  }
  const names = { 400: 'Bad request', 401: 'Not signed in', 403: 'Not allowed', 404: 'Not found', 409: 'Conflict', 413: 'Too large', 429: 'Too many requests', 503: 'Service unavailable' };
  return names[status] || `Request failed (HTTP ${status})`;
}

/** api(method, path, {body, headers}) → parsed JSON (or null for 204). Throws ApiError. */
export function createApi({ getToken, onUnauthorized }) {
  return async function api(method, path, { body, headers = {} } = {}) {
    const token = await getToken();
    const h = { Accept: 'application/json', ...headers };
    if (token) h.Authorization = 'Bearer ' + token;
    if (body !== undefined) h['Content-Type'] = 'application/json';
    let res;
    try {
      res = await fetch(path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (e) {
      throw new ApiError(0, null, 'Network error — is the server reachable?');
    }
    const data = res.status === 204 ? null : await readJson(res);
    if (res.status === 401) onUnauthorized?.();
    if (!res.ok) {
      const err = new ApiError(res.status, data, problemMessage(res.status, data));
      err.retryAfter = res.headers.get('Retry-After');
      throw err;
    }
    return { data, status: res.status, headers: res.headers };
  };
}

/**
 * How long to wait before retry `attempt` (1, 2, …) of a call the page cannot start without: 1 s, 2 s, 4 s, 8 s,
 * then 15 s each time, ±20 % so that many pages do not retry in step. Never giving up: a page that stopped retrying
 * would need a reload, which is what the user was spared.
 */
export function retryDelayMs(attempt) {
  const ms = Math.min(15_000, 1000 * 2 ** Math.max(0, attempt - 1));
  return Math.round(ms * (0.8 + Math.random() * 0.4));
}

/** Waits ms, or less when the browser comes back online (a retry is then worth making at once). */
export function retryPause(ms) {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      window.removeEventListener('online', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    window.addEventListener('online', done);
  });
}

export function itemsOf(data) {
  if (Array.isArray(data)) return data;
  if (data && Array.isArray(data.items)) return data.items;
  return [];
}

// ---- formatting ----------------------------------------------------------------------------------

const rtf = typeof Intl !== 'undefined' && Intl.RelativeTimeFormat ? new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' }) : null;

export function relativeTime(iso) {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return '';
  const s = Math.round((t - Date.now()) / 1000);
  const abs = Math.abs(s);
  if (!rtf) return new Date(t).toLocaleString();
  if (abs < 45) return rtf.format(0, 'second') === 'now' ? 'just now' : rtf.format(Math.round(s), 'second');
  if (abs < 3600) return rtf.format(Math.round(s / 60), 'minute');
  if (abs < 86400) return rtf.format(Math.round(s / 3600), 'hour');
  if (abs < 86400 * 30) return rtf.format(Math.round(s / 86400), 'day');
  return new Date(t).toLocaleDateString();
}

export function absoluteTime(iso) {
  const t = Date.parse(iso);
  return Number.isFinite(t) ? new Date(t).toLocaleString() : '';
}

export function timeEl(iso, extraClass = '') {
  return el('time', { class: extraClass, datetime: iso || '', title: absoluteTime(iso), text: relativeTime(iso) });
}

/** Keeps <time> elements made by timeEl() fresh. */
export function startRelativeClock(root = document) {
  setInterval(() => {
    for (const t of root.querySelectorAll('time[datetime]')) {
      const iso = t.getAttribute('datetime');
      if (iso) t.textContent = relativeTime(iso);
    }
  }, 30_000);
}

export const PRIORITIES = ['low', 'normal', 'high', 'critical'];

export function priorityTag(priority) {
  const p = PRIORITIES.includes(String(priority).toLowerCase()) ? String(priority).toLowerCase() : 'normal';
  return el('span', { class: `tag prio prio-${p}`, 'data-testid': 'priority', text: p });
}

// ---- connection state pill -----------------------------------------------------------------------

const STATE_TEXT = {
  idle: ['offline', 'Offline'],
  connecting: ['reconnecting', 'Connecting…'],
  connected: ['connected', 'Connected'],
  reconnecting: ['reconnecting', 'Reconnecting…'],
  offline: ['offline', 'Offline'],
  stopped: ['offline', 'Offline'],
};

/** Shows a client state as connected / reconnecting / offline (data-state carries the same word). */
export function showConnectionState(node, state) {
  let [shown, text] = STATE_TEXT[state] || STATE_TEXT.offline;
  if (typeof navigator !== 'undefined' && navigator.onLine === false && shown !== 'connected') {
    shown = 'offline';
    text = 'Offline';
  }
  node.dataset.state = shown;
  node.dataset.clientState = state;
  clear(node).append(el('span', { class: 'dot', 'aria-hidden': 'true' }), el('span', { text }));
  node.setAttribute('title', `Live updates: ${text.replace('…', '')}`);
}

// ---- sign-in -------------------------------------------------------------------------------------

/**
 * Renders the sign-in card into `root`. In Development it asks for a user id and roles and calls
 * POST /dev/token; when that endpoint is missing (404) it asks for an access token instead.
 */
export function renderSignIn(root, { title, subtitle, defaultUser = '', defaultRoles = '', message = '', onSignedIn }) {
  clear(root);
  const error = el('p', { class: 'form-error', role: 'alert', 'data-testid': 'signin-error', hidden: !message, text: message });

  const user = el('input', { id: 'signin-user', name: 'userId', autocomplete: 'username', required: true, 'data-testid': 'signin-user', value: defaultUser, spellcheck: 'false' });
  const roles = el('input', { id: 'signin-roles', name: 'roles', 'data-testid': 'signin-roles', value: defaultRoles, placeholder: 'e.g. admin, publisher', spellcheck: 'false' });
  const devSubmit = el('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'signin-submit', text: 'Sign in' });
  const devForm = el(
    'form',
    { class: 'stack', 'data-testid': 'signin-form', novalidate: true },
    el('div', { class: 'field' }, el('label', { for: 'signin-user', text: 'User id' }), user),
    el('div', { class: 'field' }, el('label', { for: 'signin-roles', text: 'Roles' }), el('span', { class: 'hint', id: 'signin-roles-hint', text: 'Comma separated, may be empty' }), roles),
    devSubmit,
    el('p', { class: 'muted small', text: 'Development sign-in: the server issues a short-lived test token.' }),
  );
  roles.setAttribute('aria-describedby', 'signin-roles-hint');

  const tokenInput = el('textarea', { id: 'signin-token', rows: '4', 'data-testid': 'signin-token', spellcheck: 'false', placeholder: 'eyJhbGciOi…' });
  const tokenSubmit = el('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'signin-token-submit', text: 'Use token' });
  const tokenNote = el('p', { class: 'notice', 'data-testid': 'signin-dev-unavailable', hidden: true, text: 'Development sign-in is not available on this server. Paste an access token (JWT) issued by your identity provider.' });
  const tokenForm = el(
    'form',
    { class: 'stack', 'data-testid': 'signin-token-form', novalidate: true },
    tokenNote,
    el('div', { class: 'field' }, el('label', { for: 'signin-token', text: 'Access token' }), tokenInput),
    tokenSubmit,
  );
  const toggle = el('button', { type: 'button', class: 'btn-link', 'data-testid': 'signin-toggle', text: 'Paste a token instead' });

  let mode = 'dev';
  function setMode(m, devAvailable = true) {
    mode = m;
    devForm.hidden = m !== 'dev';
    tokenForm.hidden = m !== 'token';
    tokenNote.hidden = devAvailable;
    toggle.hidden = !devAvailable;
    toggle.textContent = m === 'dev' ? 'Paste a token instead' : 'Use development sign-in';
  }
  toggle.addEventListener('click', () => {
    setMode(mode === 'dev' ? 'token' : 'dev');
    (mode === 'dev' ? user : tokenInput).focus();
  });

  function showError(text) {
    error.textContent = text;
    error.hidden = !text;
  }

  devForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    showError('');
    const id = user.value.trim();
    if (!id) {
      showError('Enter a user id.');
      user.focus();
      return;
    }
    devSubmit.disabled = true;
    devSubmit.textContent = 'Signing in…';
    try {
      const s = await requestDevToken(id, splitList(roles.value));
      onSignedIn(s);
    } catch (e) {
      if (e.notDevelopment) {
        setMode('token', false);
        tokenInput.focus();
      } else {
        showError(e.message || 'Sign-in failed.');
      }
    } finally {
      devSubmit.disabled = false;
      devSubmit.textContent = 'Sign in';
    }
  });

  tokenForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    showError('');
    const raw = tokenInput.value.trim().replace(/^Bearer\s+/i, '');
    const payload = decodeJwt(raw);
    if (!payload) {
      showError('That does not look like a JWT (three base64url parts separated by dots).');
      tokenInput.focus();
      return;
    }
    const s = sessionFromToken(raw, 'token');
    if (msUntilExpiry(s) <= 0) {
      showError('That token has expired. Get a fresh one.');
      return;
    }
    onSignedIn(s);
  });

  root.append(
    el(
      'section',
      { class: 'card signin', 'aria-labelledby': 'signin-title' },
      el('h1', { id: 'signin-title', text: title }),
      subtitle ? el('p', { class: 'muted', text: subtitle }) : null,
      error,
      devForm,
      tokenForm,
      el('div', { class: 'signin-footer' }, toggle),
    ),
  );
  setMode('dev');
  if (!message) user.focus();

}

// ---- toasts --------------------------------------------------------------------------------------

export function toast(region, { title, body, priority = 'normal', id, action, kind = 'info', timeoutMs }) {
  const close = el('button', { type: 'button', class: 'toast-close', 'aria-label': 'Dismiss', 'data-testid': 'toast-close', text: '×' });
  const node = el(
    'div',
    { class: `toast toast-${kind} prio-border-${priority}`, 'data-testid': 'toast', dataset: id != null ? { id } : {} },
    el(
      'div',
      { class: 'toast-content' },
      el('div', { class: 'toast-title' }, kind === 'info' ? priorityTag(priority) : null, el('strong', { text: title })),
      body ? el('p', { class: 'toast-body', text: body.length > 160 ? body.slice(0, 157) + '…' : body }) : null,
      action ? el('button', { type: 'button', class: 'btn-link', 'data-testid': 'toast-action', text: action.label, on: { click: () => { action.run(); remove(); } } }) : null,
    ),
    close,
  );
  let timer = null;
  function remove() {
    clearTimeout(timer);
    node.classList.add('leaving');
    setTimeout(() => node.remove(), 180);
  }
  function arm() {
    timer = setTimeout(remove, timeoutMs ?? (priority === 'critical' ? 15000 : 7000));
  }
  close.addEventListener('click', remove);
  node.addEventListener('mouseenter', () => clearTimeout(timer));
  node.addEventListener('mouseleave', arm);
  node.addEventListener('focusin', () => clearTimeout(timer));
  region.append(node);
  while (region.children.length > 4) region.firstElementChild.remove();
  arm();
  return node;
}
