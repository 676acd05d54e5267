// Admin dashboard served at /admin/.
import { createNotificationsClient } from './notifications-client.js';
import {
  $, el, clear, createSession, tokenProvider, createApi, itemsOf, renderSignIn, showConnectionState,
  priorityTag, timeEl, absoluteTime, startRelativeClock, toast, splitList, retryDelayMs, retryPause, ApiError,
} from './common.js';

const POLL_MS = 2500;
const SENT_PAGE = 20;
// How far back a refresh reads to close a gap at the newest end (pages of up to 100).
const MAX_REFRESH_PAGES = 20;
const session = createSession('notifications.admin.session');

const ui = {
  actions: $('#topbar-actions'),
  conn: $('#connection-state'),
  userChip: $('#user-chip'),
  signout: $('#signout'),
  signinRoot: $('#signin-root'),
  denied: $('#denied'),
  deniedDetail: $('#denied-detail'),
  deniedSignout: $('#denied-signout'),
  app: $('#app'),
  connections: $('#connections-count'),
  connectedUsers: $('#stat-connected-users'),
  instances: $('#stat-instances'),
  sentLastHour: $('#stat-sent-last-hour'),
  statsError: $('#stats-error'),
  compose: $('#compose'),
  composeError: $('#compose-error'),
  composeResult: $('#compose-result'),
  composeSend: $('#compose-send'),
  f: {
    type: $('#compose-type'),
    title: $('#compose-title'),
    body: $('#compose-body'),
    data: $('#compose-data'),
    priority: $('#compose-priority'),
    expires: $('#compose-expires'),
    users: $('#compose-users'),
    roles: $('#compose-roles'),
    groups: $('#compose-groups'),
    everyone: $('#compose-everyone'),
  },
  sentList: $('#sent-list'),
  sentEmpty: $('#sent-empty'),
  sentError: $('#sent-error'),
  sentMore: $('#sent-load-more'),
  sentUpdated: $('#sent-updated'),
  groupCreate: $('#group-create'),
  groupName: $('#group-create-name'),
  groupKind: $('#group-create-kind'),
  groupCreateError: $('#group-create-error'),
  groupCreateResult: $('#group-create-result'),
  memberForm: $('#member-form'),
  memberGroup: $('#member-group'),
  memberUser: $('#member-user'),
  memberRemove: $('#member-remove'),
  memberError: $('#member-error'),
  memberResult: $('#member-result'),
  groupList: $('#admin-group-list'),
  groupsEmpty: $('#admin-groups-empty'),
  groupsRefresh: $('#groups-refresh'),
  toasts: $('#toasts'),
};

let api = null;
let client = null;
let timers = [];
let startRun = 0; // counts start-ups, sign-outs and denials: a start-up still retrying stops once it is no longer the last
const sent = { items: new Map(), nextBefore: null, hasMore: false, olderLoaded: false, refreshing: false, again: false };
let lastAttempt = null; // {payload, key, done} for Idempotency-Key reuse on a retry of the same payload

startRelativeClock();
boot();

function boot(message = '') {
  const s = session.get();
  if (s && (s.mode === 'dev' || !Number.isFinite(Date.parse(s.expiresAt)) || Date.parse(s.expiresAt) > Date.now())) {
    void startApp();
  } else {
    if (s) session.clear();
    showSignIn(message || (s ? 'Your session expired. Sign in again.' : ''));
  }
}

function showOnly(which) {
  ui.signinRoot.hidden = which !== 'signin';
  ui.denied.hidden = which !== 'denied';
  ui.app.hidden = which !== 'app';
  ui.actions.hidden = which === 'signin';
  ui.conn.hidden = which !== 'app';
}

function showSignIn(message = '') {
  showOnly('signin');
  renderSignIn(ui.signinRoot, {
    title: 'Admin sign-in',
    subtitle: 'Send notifications, watch delivery and manage groups.',
    defaultRoles: 'admin',
    message,
    onSignedIn: (s) => {
      session.set(s);
      void startApp().then(() => {
        if (!ui.app.hidden) ui.f.type.focus();
      });
    },
  });
}

async function signOut(message = '') {
  startRun++;
  stopTimers();
  const c = client;
  client = null;
  session.clear();
  sent.items.clear();
  clear(ui.sentList);
  if (c) await c.stop().catch(() => {});
  showSignIn(message);
}

function stopTimers() {
  timers.forEach((t) => clearInterval(t));
  timers = [];
}

function showDenied(s, reason) {
  startRun++;
  stopTimers();
  if (client) {
    void client.stop().catch(() => {});
    client = null;
  }
  showOnly('denied');
  const roles = s?.roles?.length ? s.roles.join(', ') : 'none';
  ui.deniedDetail.textContent = `Signed in as ${s?.userId || 'unknown user'} (roles: ${roles}). ${reason}`;
  ui.deniedSignout.focus();
}

async function startApp() {
  const run = ++startRun;
  const isCurrent = () => run === startRun && !!session.get();
  const s = session.get();
  clear(ui.signinRoot);
  ui.userChip.textContent = s.userId || 'Signed in';
  ui.userChip.title = s.roles?.length ? `Roles: ${s.roles.join(', ')}` : 'No roles';
  if (!(s.roles || []).map((r) => String(r).toLowerCase()).includes('admin')) {
    showDenied(s, 'Your token has no admin role.');
    return;
  }

  const getToken = tokenProvider(session, () => void signOut('Your access token expired. Paste a fresh one to continue.'));
  const onUnauthorized = () => {
    const cur = session.get();
    if (!cur) return;
    if (cur.mode === 'dev') session.set({ ...cur, expiresAt: new Date(0).toISOString() });
    else void signOut('The server did not accept your token (401). Sign in again.');
  };
  api = createApi({ getToken, onUnauthorized });

  // The stats call doubles as the permission check.
  try {
    const r = await api('GET', '/api/admin/stats');
    renderStats(r.data);
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) {
      showDenied(s, 'The server refused the admin endpoints (403).');
      return;
    }
    showStatsError(e);
  }
  if (!session.get()) return;
  showOnly('app');
  showConnectionState(ui.conn, 'connecting');

  void loadGroups();
  await refreshSent(true);
  if (!isCurrent()) return;
  timers.push(setInterval(() => void pollStats(), POLL_MS));
  timers.push(setInterval(() => void refreshSent(false), POLL_MS));

  // The admin's own hub connection: anything arriving on it means "something was sent": refresh now. Its catch-up
  // starts after the newest id of the admin's own inbox; started from 0 it would replay that whole inbox, only to
  // refresh the list once more. So the read is retried until it answers (the list and the stats refresh on their
  // timers meanwhile, and the connection pill says "Connecting…").
  let topId = null;
  for (let attempt = 1; topId === null; attempt++) {
    try {
      const top = await api('GET', '/api/notifications?limit=1&status=all&includeArchived=true');
      topId = Number(itemsOf(top.data)[0]?.id) || 0;
    } catch (e) {
      if (!isCurrent()) return;
      console.warn('[admin] newest id:', errorText(e));
      await retryPause(retryDelayMs(attempt));
    }
    if (!isCurrent()) return;
  }
  if (client) return;
  client = createNotificationsClient({
    getToken,
    onUnauthorized,
    afterId: topId,
    autoAck: false, // the dashboard is not an inbox: don't count the admin as "delivered"
    onNotification: () => scheduleSentRefresh(),
    onRetracted: () => scheduleSentRefresh(),
    onStateChange: (st) => showConnectionState(ui.conn, st),
    onError: (e) => console.warn('[admin]', e?.message || e),
  });
}

// ---- stats ------------------------------------------------------------------------------------------

function fmt(n) {
  return typeof n === 'number' && Number.isFinite(n) ? n.toLocaleString() : '–';
}

function renderStats(d) {
  ui.connections.textContent = fmt(d?.connections);
  ui.connections.dataset.value = String(d?.connections ?? '');
  ui.connectedUsers.textContent = fmt(d?.connectedUsers);
  ui.instances.textContent = fmt(d?.instances);
  ui.sentLastHour.textContent = fmt(d?.sentLastHour);
  // Through a Redis outage the server still answers, with its own numbers only.
  ui.statsError.textContent = d?.partial ? "This instance's numbers only: the other instances' reports are unavailable." : '';
  ui.statsError.hidden = !d?.partial;
}

function showStatsError(e) {
  ui.statsError.textContent = `Live statistics unavailable: ${errorText(e)}`;
  ui.statsError.hidden = false;
}

async function pollStats() {
  if (document.hidden || !api) return;
  try {
    const r = await api('GET', '/api/admin/stats');
    renderStats(r.data);
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) showDenied(session.get(), 'The server refused the admin endpoints (403).');
    else showStatsError(e);
  }
}

// ---- sent notifications ---------------------------------------------------------------------------

let sentRefreshTimer = null;
function scheduleSentRefresh() {
  if (sentRefreshTimer) return;
  sentRefreshTimer = setTimeout(() => {
    sentRefreshTimer = null;
    void refreshSent(false);
  }, 150);
}

/** Re-reads the newest page (large enough to cover what is shown) and updates the list in place. */
async function refreshSent(first) {
  if (!api) return;
  if (!first && document.hidden) return;
  if (sent.refreshing) {
    sent.again = true;
    return;
  }
  sent.refreshing = true;
  try {
    const limit = Math.min(100, Math.max(SENT_PAGE, sent.olderLoaded ? 0 : sent.items.size));
    // Once older pages are shown, "Load more" goes on from the oldest: the newest end must then be read down to what
    // was already shown, or sends that came faster than the refreshes (a hidden tab) would leave a gap for good.
    let newestShown = 0;
    if (sent.olderLoaded) for (const id of sent.items.keys()) newestShown = Math.max(newestShown, id);
    let before = null;
    for (let page = 0; page < MAX_REFRESH_PAGES; page++) {
      const q = new URLSearchParams({ limit: String(limit) });
      if (before != null) q.set('before', String(before));
      const r = await api('GET', `/api/admin/notifications?${q}`);
      const items = itemsOf(r.data);
      for (const n of items) upsertSent(n);
      if (page === 0 && (first || !sent.olderLoaded)) {
        sent.hasMore = !!r.data?.hasMore;
        sent.nextBefore = r.data?.nextBefore ?? null;
      }
      const oldest = items.length ? Number(items[items.length - 1].id) : 0;
      if (!sent.olderLoaded || !r.data?.hasMore || oldest <= newestShown) break;
      before = r.data?.nextBefore ?? null;
      if (before == null) break;
    }
    ui.sentError.hidden = true;
    ui.sentUpdated.textContent = `Updated ${new Date().toLocaleTimeString()}`;
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) {
      showDenied(session.get(), 'The server refused the admin endpoints (403).');
      return;
    }
    ui.sentError.textContent = errorText(e);
    ui.sentError.hidden = false;
  } finally {
    sent.refreshing = false;
    renderSentChrome();
    if (sent.again) {
      sent.again = false;
      scheduleSentRefresh();
    }
  }
}

async function loadOlderSent() {
  if (sent.nextBefore == null) return;
  ui.sentMore.disabled = true;
  try {
    const q = new URLSearchParams({ limit: String(SENT_PAGE), before: String(sent.nextBefore) });
    const r = await api('GET', `/api/admin/notifications?${q}`);
    for (const n of itemsOf(r.data)) upsertSent(n);
    sent.hasMore = !!r.data?.hasMore;
    sent.nextBefore = r.data?.nextBefore ?? null;
    sent.olderLoaded = true;
  } catch (e) {
    ui.sentError.textContent = errorText(e);
    ui.sentError.hidden = false;
  } finally {
    ui.sentMore.disabled = false;
    renderSentChrome();
  }
}

function renderSentChrome() {
  ui.sentEmpty.hidden = sent.items.size > 0;
  ui.sentMore.hidden = !sent.hasMore;
}

function statsOf(n) {
  const s = n.stats || {};
  return { delivered: Number(s.delivered) || 0, seen: Number(s.seen) || 0, read: Number(s.read) || 0 };
}

function isRetracted(n) {
  return !!(n.retractedAt || n.retracted || n.deletedAt);
}

function audienceText(a) {
  if (!a || typeof a !== 'object') return '';
  const parts = [];
  if (a.everyone) parts.push('everyone');
  if (a.users?.length) parts.push(`users: ${a.users.join(', ')}`);
  if (a.roles?.length) parts.push(`roles: ${a.roles.join(', ')}`);
  if (a.groups?.length) parts.push(`groups: ${a.groups.join(', ')}`);
  return parts.join(' · ');
}

function upsertSent(raw) {
  const id = Number(raw.id);
  if (!Number.isFinite(id)) return;
  const n = { ...raw, id };
  const prev = sent.items.get(id);
  sent.items.set(id, n);
  const existing = ui.sentList.querySelector(`li[data-id="${id}"]`);
  if (existing && prev) {
    updateSentNode(existing, n);
    return;
  }
  const node = renderSent(n);
  let before = null;
  for (const li of ui.sentList.children) {
    if (Number(li.dataset.id) < id) {
      before = li;
      break;
    }
  }
  ui.sentList.insertBefore(node, before);
}

function funnelStep(key, label, value, base) {
  const pct = base > 0 ? Math.round((value / base) * 100) : 0;
  return el(
    'div',
    { class: `funnel-step ${key}` },
    el('span', {}, el('strong', { 'data-testid': `funnel-${key}`, text: String(value) }), ` ${label}`),
    el('span', { class: 'funnel-bar', 'aria-hidden': 'true' }, el('span', { style: `width:${key === 'delivered' ? (value > 0 ? 100 : 0) : pct}%` })),
  );
}

function renderSent(n) {
  const st = statsOf(n);
  const retracted = isRetracted(n);
  const retractBtn = el('button', {
    type: 'button',
    class: 'btn btn-small btn-danger',
    'data-testid': 'retract',
    disabled: retracted,
    'aria-label': `Retract “${n.title || 'notification'}”`,
    text: retracted ? 'Retracted' : 'Retract',
    on: { click: () => retract(n.id, retractBtn) },
  });
  const aud = audienceText(n.audience);
  return el(
    'li',
    {
      class: `sitem${retracted ? ' retracted' : ''}`,
      'data-testid': 'sent-item',
      dataset: { id: n.id, delivered: st.delivered, seen: st.seen, read: st.read, retracted: String(retracted) },
    },
    el('div', { class: 'sitem-head' },
      priorityTag(n.priority),
      el('span', { class: 'sitem-title', 'data-testid': 'sent-title', text: n.title || '(no title)' }),
      retracted ? el('span', { class: 'tag tag-retracted', 'data-testid': 'sent-retracted', text: 'retracted' }) : null,
    ),
    el('div', { class: 'sitem-meta' },
      `#${n.id} · ${n.type || ''} · `,
      timeEl(n.createdAt),
      n.senderId ? ` · by ${n.senderId}` : '',
      aud ? ` · ${aud}` : '',
      n.expiresAt ? ` · expires ${absoluteTime(n.expiresAt)}` : '',
    ),
    el('div', { class: 'sitem-foot' },
      el('div', { class: 'funnel', 'data-testid': 'funnel', 'aria-label': `Delivered ${st.delivered}, seen ${st.seen}, read ${st.read}` },
        funnelStep('delivered', 'delivered', st.delivered, st.delivered),
        funnelStep('seen', 'seen', st.seen, st.delivered),
        funnelStep('read', 'read', st.read, st.delivered),
      ),
      retractBtn,
    ),
  );
}

function updateSentNode(li, n) {
  const st = statsOf(n);
  const retracted = isRetracted(n);
  const changed =
    li.dataset.delivered !== String(st.delivered) ||
    li.dataset.seen !== String(st.seen) ||
    li.dataset.read !== String(st.read) ||
    li.dataset.retracted !== String(retracted);
  if (!changed) return;
  // Keep focus on the retract button when re-rendering.
  const hadFocus = li.contains(document.activeElement);
  const node = renderSent(n);
  li.replaceWith(node);
  if (hadFocus) node.querySelector('[data-testid="retract"]')?.focus();
}

async function retract(id, btn) {
  btn.disabled = true;
  btn.textContent = 'Retracting…';
  try {
    await api('DELETE', `/api/notifications/${encodeURIComponent(id)}`);
    const n = sent.items.get(id);
    if (n) {
      const li = ui.sentList.querySelector(`li[data-id="${id}"]`);
      const updated = { ...n, retractedAt: n.retractedAt || new Date().toISOString() };
      sent.items.set(id, updated);
      if (li) updateSentNode(li, updated);
    }
    toast(ui.toasts, { title: `Retracted #${id}`, kind: 'ok', timeoutMs: 4000 });
  } catch (e) {
    btn.disabled = false;
    btn.textContent = 'Retract';
    toast(ui.toasts, { title: 'Could not retract', body: errorText(e), kind: 'error', priority: 'high' });
  }
}

// ---- compose ----------------------------------------------------------------------------------------

const FIELD_ALIASES = {
  type: 'type', title: 'title', body: 'body', data: 'data', priority: 'priority',
  expiresat: 'expires', expires: 'expires', expiry: 'expires',
  users: 'users', roles: 'roles', groups: 'groups', everyone: 'everyone', audience: 'audience',
};
const FIELD_INPUT = {
  type: 'type', title: 'title', body: 'body', data: 'data', priority: 'priority', expires: 'expires',
  users: 'users', roles: 'roles', groups: 'groups', everyone: 'everyone',
};

/** "Audience.Users" → users, "$.data" → data, "audience.groups[0]" → groups, "ExpiresAt" → expires. */
export function fieldForErrorKey(key) {
  const last = String(key || '')
    .split(/[.:/]/)
    .filter(Boolean)
    .pop() || '';
  const name = last.replace(/\[\d*\]$/, '').replace(/^\$/, '').toLowerCase();
  return FIELD_ALIASES[name] || null;
}

function clearErrors() {
  for (const p of ui.compose.querySelectorAll('.field-error')) {
    p.textContent = '';
    p.hidden = true;
  }
  for (const inp of ui.compose.querySelectorAll('[aria-invalid]')) inp.removeAttribute('aria-invalid');
  ui.composeError.hidden = true;
  clear(ui.composeError);
}

function setFieldError(field, messages) {
  const p = document.getElementById(`error-${field}`);
  if (!p) return false;
  const text = [p.textContent, ...[].concat(messages)].filter(Boolean).join(' ');
  p.textContent = text;
  p.hidden = false;
  const input = ui.f[FIELD_INPUT[field]];
  if (input) input.setAttribute('aria-invalid', 'true');
  return true;
}

function setFormError(title, extra = []) {
  clear(ui.composeError);
  ui.composeError.append(el('span', { text: title }));
  if (extra.length) ui.composeError.append(el('ul', {}, extra.map((t) => el('li', { text: t }))));
  ui.composeError.hidden = false;
}

function showProblem(e) {
  const p = e.problem || {};
  const errors = p.errors && typeof p.errors === 'object' ? p.errors : null;
  const unplaced = [];
  let firstField = null;
  if (errors) {
    for (const [key, msgs] of Object.entries(errors)) {
      const list = Array.isArray(msgs) ? msgs.map(String) : [String(msgs)];
      const field = fieldForErrorKey(key);
      if (field && setFieldError(field, list)) {
        firstField = firstField || field;
      } else {
        unplaced.push(...list.map((m) => (key ? `${key}: ${m}` : m)));
      }
    }
  }
  let title = e.message;
  if (e.status === 400 && errors) title = 'Please fix the highlighted fields.';
  if (e.status === 429 && e.retryAfter) title += ` Try again in ${e.retryAfter} s.`;
  if (e.status === 403) title = `${e.message}${p.detail ? '' : ' — you may not send to this audience.'}`;
  if (!errors || unplaced.length || !firstField) setFormError(title, unplaced);
  else setFormError(title);
  const focusInput = firstField && ui.f[FIELD_INPUT[firstField]];
  (focusInput || ui.composeError).focus?.();
}

function buildPayload() {
  const errs = {};
  const f = ui.f;
  let data = null;
  const rawData = f.data.value.trim();
  if (rawData) {
    try {
      data = JSON.parse(rawData);
      if (data === null || typeof data !== 'object' || Array.isArray(data)) {
        errs.data = 'Data must be a JSON object, like {"orderId": 1234}.';
      } else if (new TextEncoder().encode(JSON.stringify(data)).length > 16 * 1024) {
        errs.data = 'Data must be at most 16 KB.';
      }
    } catch (ex) {
      errs.data = `Not valid JSON: ${ex.message}`;
    }
  }
  let expiresAt = null;
  if (f.expires.value) {
    const d = new Date(f.expires.value); // datetime-local is local time
    if (Number.isNaN(d.getTime())) errs.expires = 'Pick a valid date and time.';
    else expiresAt = d.toISOString();
  }
  const payload = {
    type: f.type.value.trim(),
    title: f.title.value.trim(),
    body: f.body.value.trim() || null,
    data,
    priority: f.priority.value || 'normal',
    expiresAt,
    audience: {
      users: splitList(f.users.value),
      roles: splitList(f.roles.value),
      groups: [...f.groups.selectedOptions].map((o) => o.value),
      everyone: f.everyone.checked,
    },
  };
  return { payload, errs };
}

function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
}

ui.compose.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  clearErrors();
  ui.composeResult.hidden = true;
  const { payload, errs } = buildPayload();
  if (Object.keys(errs).length) {
    for (const [k, m] of Object.entries(errs)) setFieldError(k, m);
    setFormError('Please fix the highlighted fields.');
    ui.f[Object.keys(errs)[0]]?.focus();
    return;
  }
  const body = JSON.stringify(payload);
  // Same payload after a failure (e.g. a network error) → same key, so the server can de-duplicate.
  if (!lastAttempt || lastAttempt.body !== body || lastAttempt.done) lastAttempt = { body, key: newKey(), done: false };
  ui.composeSend.disabled = true;
  ui.composeSend.textContent = 'Sending…';
  try {
    const r = await api('POST', '/api/notifications', { body: payload, headers: { 'Idempotency-Key': lastAttempt.key } });
    lastAttempt.done = true;
    const id = r.data?.id;
    ui.composeResult.textContent = id != null ? `Sent #${id}` : 'Sent';
    if (id != null) ui.composeResult.dataset.id = String(id);
    ui.composeResult.hidden = false;
    ui.f.title.value = '';
    ui.f.body.value = '';
    ui.f.data.value = '';
    ui.f.expires.value = '';
    scheduleSentRefresh();
    void pollStats();
  } catch (e) {
    if (e instanceof ApiError && e.status !== 0) lastAttempt.done = e.status !== 429 && e.status !== 503;
    showProblem(e);
  } finally {
    ui.composeSend.disabled = false;
    ui.composeSend.textContent = 'Send notification';
  }
});

// ---- groups -----------------------------------------------------------------------------------------

async function loadGroups() {
  try {
    const r = await api('GET', '/api/groups');
    renderGroups(itemsOf(r.data));
  } catch (e) {
    toast(ui.toasts, { title: 'Could not load groups', body: errorText(e), kind: 'error', priority: 'high' });
  }
}

function renderGroups(groups) {
  groups.sort((a, b) => String(a.name).localeCompare(String(b.name)));
  // compose multi-select: keep the selection
  const selected = new Set([...ui.f.groups.selectedOptions].map((o) => o.value));
  clear(ui.f.groups);
  for (const g of groups) ui.f.groups.append(el('option', { value: g.name, selected: selected.has(g.name), text: `${g.name} (${g.kind || 'open'})` }));
  ui.f.groups.size = Math.min(6, Math.max(3, groups.length));

  const current = ui.memberGroup.value;
  clear(ui.memberGroup);
  for (const g of groups) ui.memberGroup.append(el('option', { value: g.name, text: g.name }));
  if (groups.some((g) => g.name === current)) ui.memberGroup.value = current;

  clear(ui.groupList);
  ui.groupsEmpty.hidden = groups.length > 0;
  for (const g of groups) {
    const kind = String(g.kind || 'open').toLowerCase();
    ui.groupList.append(
      el('li', { class: 'gitem', 'data-testid': 'admin-group-item', dataset: { name: g.name, kind } },
        el('div', { class: 'gitem-main' },
          el('span', { class: 'gitem-name', text: g.name }),
          el('span', { class: `tag kind-${kind}`, text: kind }),
          g.isMember ? el('span', { class: 'tag tag-member', text: 'you are a member' }) : null,
          g.memberCount != null ? el('span', { class: 'small muted', text: `${g.memberCount} members` }) : null,
        ),
      ),
    );
  }
}

function showMsg(okNode, errNode, ok, text) {
  okNode.hidden = !ok;
  errNode.hidden = ok;
  (ok ? okNode : errNode).textContent = text;
}

ui.groupCreate.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  for (const id of ['error-group-name', 'error-group-kind']) {
    const p = document.getElementById(id);
    p.hidden = true;
    p.textContent = '';
  }
  ui.groupName.removeAttribute('aria-invalid');
  const name = ui.groupName.value.trim();
  if (!name) {
    ui.groupName.setAttribute('aria-invalid', 'true');
    showMsg(ui.groupCreateResult, ui.groupCreateError, false, 'Enter a group name.');
    ui.groupName.focus();
    return;
  }
  const btn = ui.groupCreate.querySelector('[type="submit"]');
  btn.disabled = true;
  try {
    await api('POST', '/api/groups', { body: { name, kind: ui.groupKind.value } });
    showMsg(ui.groupCreateResult, ui.groupCreateError, true, `Created “${name}”.`);
    ui.groupName.value = '';
    await loadGroups();
    ui.memberGroup.value = name;
  } catch (e) {
    const errors = e.problem?.errors;
    if (errors) {
      for (const [k, msgs] of Object.entries(errors)) {
        const last = fieldForErrorKey(k) || String(k).split('.').pop().toLowerCase();
        const p = document.getElementById(last === 'kind' ? 'error-group-kind' : 'error-group-name');
        p.textContent = [].concat(msgs).join(' ');
        p.hidden = false;
      }
    }
    showMsg(ui.groupCreateResult, ui.groupCreateError, false, errorText(e));
  } finally {
    btn.disabled = false;
  }
});

async function changeMember(method) {
  const group = ui.memberGroup.value;
  const user = ui.memberUser.value.trim();
  if (!group || !user) {
    showMsg(ui.memberResult, ui.memberError, false, !group ? 'Create or pick a group first.' : 'Enter a user id.');
    (!group ? ui.memberGroup : ui.memberUser).focus();
    return;
  }
  const buttons = ui.memberForm.querySelectorAll('button');
  buttons.forEach((b) => (b.disabled = true));
  try {
    await api(method, `/api/groups/${encodeURIComponent(group)}/members/${encodeURIComponent(user)}`);
    showMsg(ui.memberResult, ui.memberError, true, method === 'PUT' ? `Added ${user} to ${group}.` : `Removed ${user} from ${group}.`);
    void loadGroups();
  } catch (e) {
    showMsg(ui.memberResult, ui.memberError, false, errorText(e));
  } finally {
    buttons.forEach((b) => (b.disabled = false));
  }
}

ui.memberForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  void changeMember('PUT');
});
ui.memberRemove.addEventListener('click', () => void changeMember('DELETE'));
ui.groupsRefresh.addEventListener('click', () => void loadGroups());
ui.sentMore.addEventListener('click', () => void loadOlderSent());
ui.signout.addEventListener('click', () => void signOut());
ui.deniedSignout.addEventListener('click', () => void signOut());
document.addEventListener('visibilitychange', () => {
  if (!document.hidden && client) {
    void pollStats();
    void refreshSent(false);
  }
});

function errorText(e) {
  if (e instanceof ApiError) {
    const errs = e.problem?.errors;
    if (errs && typeof errs === 'object') {
      const first = Object.values(errs).flat()[0];
      if (first) return `${e.message}: ${first}`;
    }
    return e.message;
  }
  return e?.message || 'Something went wrong.';
}
