// Inbox SPA served at /.
import { createNotificationsClient } from './notifications-client.js';
import {
  $, el, clear, createSession, tokenProvider, createApi, itemsOf, renderSignIn, showConnectionState,
  priorityTag, timeEl, absoluteTime, startRelativeClock, toast, retryDelayMs, retryPause, ApiError,
} from './common.js';

const PAGE = 20;
const session = createSession('notifications.inbox.session');

const ui = {
  actions: $('#topbar-actions'),
  conn: $('#connection-state'),
  userChip: $('#user-chip'),
  bell: $('#bell'),
  badge: $('#badge'),
  signout: $('#signout'),
  panel: $('#panel'),
  panelClose: $('#panel-close'),
  panelStatus: $('#panel-status'),
  filter: $('#filter'),
  markAll: $('#mark-all-read'),
  list: $('#notification-list'),
  empty: $('#empty'),
  loadMore: $('#load-more'),
  signinRoot: $('#signin-root'),
  app: $('#app'),
  welcome: $('#welcome'),
  statUnread: $('#stat-unread'),
  statGroups: $('#stat-groups'),
  openInbox: $('#open-inbox'),
  groupList: $('#group-list'),
  groupsEmpty: $('#groups-empty'),
  groupsError: $('#groups-error'),
  groupsRefresh: $('#groups-refresh'),
  toasts: $('#toasts'),
};

let client = null;
let api = null;
let otherTabs = null; // BroadcastChannel to this user's other tabs of this browser, or null
let startRun = 0; // counts start-ups and sign-outs: a start-up still retrying stops once it is no longer the last

const state = {
  filter: 'all',
  items: new Map(), // id -> notification, in the list
  nextBefore: null,
  hasMore: false,
  loading: false,
  listGeneration: 0,
  unread: 0,
  retracted: new Set(),
  archived: new Set(), // archived here (or being archived): never listed again
  expiryTimers: new Map(),
  seenQueue: new Set(),
  seenTimer: null,
  expanded: new Set(),
};

startRelativeClock();
boot();

function boot(message = '') {
  const s = session.get();
  if (s && (s.mode === 'dev' || !Number.isFinite(Date.parse(s.expiresAt)) || Date.parse(s.expiresAt) > Date.now())) {
    startApp();
  } else {
    if (s) session.clear();
    showSignIn(message || (s ? 'Your session expired. Sign in again.' : ''));
  }
}

function showSignIn(message = '') {
  ui.app.hidden = true;
  ui.actions.hidden = true;
  ui.panel.hidden = true;
  ui.signinRoot.hidden = false;
  renderSignIn(ui.signinRoot, {
    title: 'Sign in to your inbox',
    subtitle: 'See and manage your notifications in real time.',
    message,
    onSignedIn: (s) => {
      session.set(s);
      void startApp();
      ui.bell.focus(); // the sign-in form is gone: put focus somewhere useful
    },
  });
}

async function signOut(message = '') {
  const c = client;
  client = null;
  startRun++;
  closeOtherTabs();
  session.clear();
  resetState();
  if (c) await c.stop().catch(() => {});
  showSignIn(message);
}

function resetState() {
  state.items.clear();
  state.expanded.clear();
  state.retracted.clear();
  state.archived.clear();
  for (const t of state.expiryTimers.values()) clearTimeout(t);
  state.expiryTimers.clear();
  state.nextBefore = null;
  state.hasMore = false;
  state.listGeneration++;
  clear(ui.list);
  setUnread(0);
}

async function startApp() {
  const run = ++startRun;
  const isCurrent = () => run === startRun && !!session.get();
  const s = session.get();
  ui.signinRoot.hidden = true;
  clear(ui.signinRoot);
  ui.app.hidden = false;
  ui.actions.hidden = false;
  ui.userChip.textContent = s.userId ? s.userId : 'Signed in';
  ui.userChip.title = s.roles?.length ? `Roles: ${s.roles.join(', ')}` : 'No roles';
  ui.welcome.textContent = s.userId ? `Hello, ${s.userId}` : 'Hello';
  showConnectionState(ui.conn, 'connecting');
  openOtherTabs(s.userId);

  let expiredShown = false;
  const getToken = tokenProvider(session, () => {
    if (expiredShown) return;
    expiredShown = true;
    void signOut('Your access token expired. Paste a fresh one to continue.');
  });
  const onUnauthorized = () => {
    const cur = session.get();
    if (!cur) return;
    if (cur.mode === 'dev') {
      // e.g. the development signing key changed on restart: mint a new token on the next call.
      session.set({ ...cur, expiresAt: new Date(0).toISOString() });
    } else {
      void signOut('The server did not accept your token (401). Sign in again.');
    }
  };
  api = createApi({ getToken, onUnauthorized });

  void loadGroups();

  // Inbox first, then connect: the hub's catch-up starts after the newest id of the inbox, so it brings what arrived
  // since, not the user's whole history (which it would replay from 0, listed and toasted). The page does not connect
  // without that id: a failed start-up read is retried until it answers (loadStart).
  const topId = await loadStart(isCurrent);
  if (topId === null) return; // signed out, or signed in again, meanwhile

  client = createNotificationsClient({
    baseUrl: '',
    getToken,
    onUnauthorized,
    afterId: topId,
    onNotification,
    onUnreadCount: (n) => setUnread(n), // the server's count after a read-state change: it wins
    onRead: (ids) => ids.forEach((id) => markLocalRead(id)),
    onAllRead: ({ upToId }) => {
      for (const n of state.items.values()) if (n.id <= upToId) markLocalRead(n.id);
    },
    onRetracted,
    onStateChange: (st) => showConnectionState(ui.conn, st),
    onSync: () => void refreshUnreadCount(),
    onError: (e) => console.warn('[inbox]', e?.message || e),
  });
}

/**
 * The start-up reads: the newest id of the inbox (archived ones included), then the first page, each retried with a
 * growing pause (retryDelayMs) and the error in the panel until it answers. Returns the newest id, or null when this
 * start-up is no longer current. The newest id is read before the page, never beside or after it: ids become visible
 * in id order (docs/delivery.md), so whatever commits after that read is above it and comes with the catch-up, and
 * the page, read later, has everything below it. Read after the page, a send committed in between (or during the
 * retries) would be in neither. The unread count is not waited for: it is fetched again after the first catch-up.
 */
async function loadStart(isCurrent) {
  let topId = null;
  for (let attempt = 1; ; attempt++) {
    try {
      if (topId === null) {
        const top = await api('GET', '/api/notifications?limit=1&status=all&includeArchived=true');
        if (!isCurrent()) return null;
        topId = Number(itemsOf(top.data)[0]?.id) || 0;
        void refreshUnreadCount();
      }
      await loadPage(true);
      return isCurrent() ? topId : null;
    } catch (e) {
      if (!isCurrent()) return null;
      const ms = retryDelayMs(attempt);
      setPanelStatus(`${errorText(e)} — retrying in ${Math.max(1, Math.round(ms / 1000))} s…`);
      await retryPause(ms);
      if (!isCurrent()) return null;
    }
  }
}

// ---- unread badge -----------------------------------------------------------------------------------
//
// The badge shows the server's unread count. It is set two ways:
// - absolutely, by the pushed UnreadCountChanged (the server sends one after each read-state change of this user —
//   read, read-all, archive, from any tab — counted after the change committed, one after another, so the last one
//   pushed is never older than the last change) and by a fetched count (refreshUnreadCount);
// - relatively, by a live arrival (+1: a send pushes no count) and by this page's own read, read-all and archive,
//   which change the count BEFORE their call (localChange). The call's own push may arrive before or after the
//   call's response; either way it only sets the number the page already shows, so nothing is taken off twice.
// Another tab's archive (told on the BroadcastChannel, see otherTabs) changes only the list, never the count: the
// archive's own UnreadCountChanged reaches this tab too and sets it, so a -1 here would take it off twice.
// A fetched count is only as new as the moment the server counted, and nothing says which changes it includes: it is
// not asked for while this page's own changes are in flight (it may miss them; it is asked once they are done), and
// it is dropped and asked again when the count moved while it was on the way.

const unreadSync = { version: 0, busy: 0, refreshing: false, wanted: false };

/** An absolute count: a push, a fetch, or a reset. */
function setUnread(n) {
  unreadSync.version++;
  showUnread(n);
}

/** A local change of the count by delta. */
function addUnread(delta) {
  unreadSync.version++;
  showUnread(state.unread + delta);
}

function showUnread(n) {
  state.unread = Math.max(0, Math.floor(Number(n) || 0));
  ui.badge.dataset.count = String(state.unread);
  ui.badge.textContent = state.unread > 99 ? '99+' : String(state.unread);
  ui.badge.hidden = state.unread === 0;
  ui.bell.setAttribute('aria-label', state.unread ? `Notifications, ${state.unread} unread` : 'Notifications, none unread');
  ui.statUnread.textContent = String(state.unread);
  document.title = state.unread ? `(${state.unread}) Notifications` : 'Notifications';
}

async function refreshUnreadCount() {
  if (unreadSync.busy > 0 || unreadSync.refreshing) {
    unreadSync.wanted = true;
    return;
  }
  unreadSync.refreshing = true;
  unreadSync.wanted = false;
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      const version = unreadSync.version;
      const r = await api('GET', '/api/notifications/unread-count');
      if (unreadSync.busy > 0) {
        unreadSync.wanted = true; // asked again when this page's changes are done
        return;
      }
      if (version === unreadSync.version) {
        setUnread(r.data?.count);
        return;
      }
      // The count moved while this one was on the way, and this one may be older than that change: ask again.
    }
  } catch {
    /* keep the local count */
  } finally {
    unreadSync.refreshing = false;
    if (unreadSync.wanted && unreadSync.busy === 0) void refreshUnreadCount();
  }
}

/**
 * One of this page's own read-state changes: apply() changes the list and the count at once, before call() runs;
 * undo() puts them back when the call fails. A failed call may still have happened on the server (a lost response),
 * and pushes may have set the count meanwhile, so the count is fetched afterwards too.
 */
async function localChange(apply, call, undo) {
  unreadSync.busy++;
  apply();
  try {
    await call();
    return true;
  } catch (e) {
    undo();
    unreadSync.wanted = true;
    notifyError(e);
    return false;
  } finally {
    unreadSync.busy--;
    if (unreadSync.busy === 0 && unreadSync.wanted) void refreshUnreadCount();
  }
}

// ---- list -------------------------------------------------------------------------------------------

function isExpired(n) {
  const t = Date.parse(n.expiresAt);
  return Number.isFinite(t) && t <= Date.now();
}

async function loadPage(reset) {
  if (state.loading && !reset) return;
  const gen = reset ? ++state.listGeneration : state.listGeneration;
  state.loading = true;
  ui.loadMore.disabled = true;
  if (reset) setPanelStatus('Loading…');
  const q = new URLSearchParams({ limit: String(PAGE), status: state.filter });
  if (!reset && state.nextBefore != null) q.set('before', String(state.nextBefore));
  try {
    const r = await api('GET', `/api/notifications?${q}`);
    if (gen !== state.listGeneration) return;
    if (reset) {
      state.items.clear();
      clear(ui.list);
    }
    for (const n of itemsOf(r.data)) upsert(n);
    state.hasMore = !!r.data?.hasMore;
    state.nextBefore = r.data?.nextBefore ?? null;
    setPanelStatus('');
  } catch (e) {
    if (gen === state.listGeneration) setPanelStatus(errorText(e));
    if (reset) throw e;
  } finally {
    if (gen === state.listGeneration) {
      state.loading = false;
      ui.loadMore.disabled = false;
      renderChrome();
    }
  }
}

function setPanelStatus(text) {
  ui.panelStatus.textContent = text;
  ui.panelStatus.hidden = !text;
}

function renderChrome() {
  // Not while the status line shows an error: "No notifications yet" would be a guess.
  ui.empty.hidden = state.items.size > 0 || state.loading || !!ui.panelStatus.textContent;
  ui.empty.textContent = state.filter === 'unread' ? "You're all caught up — nothing unread." : 'No notifications yet.';
  ui.loadMore.hidden = !state.hasMore;
  ui.markAll.disabled = state.unread === 0 && ![...state.items.values()].some((n) => !n.readAt);
}

/** Inserts or replaces an item, keeping the list newest first. */
function upsert(n) {
  const id = Number(n.id);
  if (!Number.isFinite(id) || state.retracted.has(id) || state.archived.has(id) || n.archivedAt || isExpired(n)) return;
  if (state.filter === 'unread' && n.readAt && !state.items.has(id)) return;
  n = { ...n, id };
  state.items.set(id, n);
  const node = renderItem(n);
  const existing = ui.list.querySelector(`li[data-id="${id}"]`);
  if (existing) existing.replaceWith(node);
  else {
    let before = null;
    for (const li of ui.list.children) {
      if (Number(li.dataset.id) < id) {
        before = li;
        break;
      }
    }
    ui.list.insertBefore(node, before);
  }
  scheduleExpiry(n);
  if (!ui.panel.hidden) queueSeen([n]);
}

function removeItem(id) {
  state.items.delete(id);
  state.expanded.delete(id);
  ui.list.querySelector(`li[data-id="${id}"]`)?.remove();
  const t = state.expiryTimers.get(id);
  if (t) clearTimeout(t);
  state.expiryTimers.delete(id);
  renderChrome();
}

function scheduleExpiry(n) {
  const t = Date.parse(n.expiresAt);
  if (!Number.isFinite(t) || state.expiryTimers.has(n.id)) return;
  const ms = t - Date.now();
  if (ms > 2 ** 31 - 1) return;
  state.expiryTimers.set(
    n.id,
    setTimeout(() => {
      state.expiryTimers.delete(n.id);
      removeItem(n.id);
      void refreshUnreadCount();
    }, Math.max(0, ms)),
  );
}

function renderItem(n) {
  const read = !!n.readAt;
  const expanded = state.expanded.has(n.id);
  const detailsId = `n-details-${n.id}`;
  const details = el(
    'div',
    { class: 'nitem-details', id: detailsId, hidden: !expanded, 'data-testid': 'notification-details' },
    el(
      'dl',
      { class: 'meta-grid' },
      el('dt', { text: 'Type' }), el('dd', { text: n.type || '—' }),
      el('dt', { text: 'From' }), el('dd', { text: n.senderId || '—' }),
      el('dt', { text: 'Sent' }), el('dd', { text: absoluteTime(n.createdAt) || '—' }),
      n.expiresAt ? el('dt', { text: 'Expires' }) : null, n.expiresAt ? el('dd', { text: absoluteTime(n.expiresAt) }) : null,
    ),
    n.data != null && !(typeof n.data === 'object' && Object.keys(n.data).length === 0)
      ? el('pre', { class: 'json', 'data-testid': 'notification-data', text: JSON.stringify(n.data, null, 2) })
      : el('p', { class: 'muted small', text: 'No data.' }),
  );

  const main = el(
    'button',
    {
      type: 'button',
      class: 'nitem-main',
      'data-testid': 'notification-open',
      'aria-expanded': String(expanded),
      'aria-controls': detailsId,
      on: {
        click: () => {
          const open = !state.expanded.has(n.id);
          if (open) state.expanded.add(n.id);
          else state.expanded.delete(n.id);
          main.setAttribute('aria-expanded', String(open));
          details.hidden = !open;
          if (!state.items.get(n.id)?.readAt) void markRead(n.id);
        },
      },
    },
    el('span', { class: 'nitem-line' },
      el('span', { class: 'unread-dot', 'aria-hidden': 'true' }),
      el('span', { class: 'nitem-title', 'data-testid': 'notification-title', text: n.title || '(no title)' }),
      priorityTag(n.priority),
    ),
    n.body ? el('span', { class: 'nitem-body', 'data-testid': 'notification-body', text: n.body }) : null,
    el('span', { class: 'nitem-meta' }, el('span', { text: n.type || '' }), el('span', { 'aria-hidden': 'true', text: ' · ' }), timeEl(n.createdAt)),
    el('span', { class: 'sr-only', text: read ? 'Read.' : 'Unread.' }),
  );

  const markBtn = el('button', {
    type: 'button',
    class: 'btn btn-small btn-quiet',
    'data-testid': 'mark-read',
    hidden: read,
    'aria-label': `Mark “${n.title || 'notification'}” as read`,
    text: 'Mark read',
    on: { click: () => markRead(n.id) },
  });
  const archiveBtn = el('button', {
    type: 'button',
    class: 'btn btn-small btn-quiet',
    'data-testid': 'archive',
    'aria-label': `Archive “${n.title || 'notification'}”`,
    text: 'Archive',
    on: { click: () => archive(n.id, archiveBtn) },
  });

  return el(
    'li',
    {
      class: `nitem${read ? '' : ' unread'} prio-${String(n.priority || 'normal').toLowerCase()}`,
      'data-testid': 'notification-item',
      dataset: { id: n.id, read: String(read), priority: String(n.priority || 'normal').toLowerCase() },
    },
    main,
    el('div', { class: 'nitem-actions' }, markBtn, archiveBtn),
    details,
  );
}

function markLocalRead(id) {
  const n = state.items.get(Number(id));
  if (!n || n.readAt) return false;
  n.readAt = new Date().toISOString();
  n.seenAt = n.seenAt || n.readAt;
  const li = ui.list.querySelector(`li[data-id="${n.id}"]`);
  if (li) {
    li.classList.remove('unread');
    li.dataset.read = 'true';
    const btn = li.querySelector('[data-testid="mark-read"]');
    if (btn) btn.hidden = true;
    const sr = li.querySelector('.nitem-main .sr-only');
    if (sr) sr.textContent = 'Read.';
  }
  renderChrome();
  return true;
}

function markLocalUnread(id) {
  const n = state.items.get(Number(id));
  if (!n) return;
  n.readAt = null;
  const li = ui.list.querySelector(`li[data-id="${n.id}"]`);
  if (li) li.replaceWith(renderItem(n));
}

async function markRead(id) {
  let changed = false;
  await localChange(
    () => {
      changed = markLocalRead(id);
      if (changed) addUnread(-1);
    },
    () => api('POST', `/api/notifications/${encodeURIComponent(id)}/read`),
    () => {
      if (!changed) return;
      markLocalUnread(id);
      addUnread(1);
    },
  );
}

async function markAllRead() {
  ui.markAll.disabled = true;
  const changed = [...state.items.values()].filter((n) => !n.readAt).map((n) => n.id);
  let lowered = 0;
  await localChange(
    () => {
      changed.forEach((id) => markLocalRead(id));
      lowered = state.unread;
      addUnread(-lowered);
    },
    () => api('POST', '/api/notifications/read-all'),
    () => {
      changed.forEach((id) => markLocalUnread(id));
      addUnread(lowered);
    },
  );
  renderChrome();
}

async function archive(id, btn) {
  const n = state.items.get(id);
  if (!n) return;
  btn.disabled = true;
  const unread = !n.readAt;
  // Off the list and off the count before the call, like a read: the server pushes the new count to all of this
  // user's tabs before the call returns, and that push must find the change made, not make it a second time.
  const archived = await localChange(
    () => {
      state.archived.add(id);
      removeItem(id);
      if (unread) addUnread(-1);
    },
    () => api('POST', `/api/notifications/${encodeURIComponent(id)}/archive`),
    () => {
      state.archived.delete(id);
      upsert(n);
      renderChrome();
      if (unread) addUnread(1);
    },
  );
  // Told only once it is done: a failed archive is undone here and must not vanish from the other tabs.
  if (archived) tellOtherTabs({ type: 'archived', id });
}

// ---- the user's other tabs ----------------------------------------------------------------------------
//
// The server pushes a read and a read-all to all of the user's connections (onRead, onAllRead), and the count after an
// archive (UnreadCountChanged), but not the archive itself: without a word from the acting tab, the user's other tabs
// would list the item until they reload. Tabs of one browser tell each other here; other browsers and devices still
// drop it on their next page load. The channel is named after the user, so tabs of two users signed in side by side,
// or one after the other in one tab (it is closed on sign-out), never hear each other. Reads are not sent here: the
// server's pushes carry them already.

function openOtherTabs(userId) {
  closeOtherTabs();
  if (typeof BroadcastChannel !== 'function' || !userId) return; // an old browser: other tabs catch up on reload
  otherTabs = new BroadcastChannel(`notifications.inbox:${userId}`);
  otherTabs.onmessage = (e) => onOtherTab(e.data);
}

function closeOtherTabs() {
  otherTabs?.close();
  otherTabs = null;
}

function tellOtherTabs(message) {
  try {
    otherTabs?.postMessage(message);
  } catch (e) {
    console.warn('[inbox] could not tell the other tabs', e?.message || e);
  }
}

function onOtherTab(message) {
  if (message?.type !== 'archived') return;
  const id = Number(message.id);
  if (!Number.isFinite(id)) return;
  // What the acting tab did, bar the count (see unreadSync): off the list, and never listed again by a later page,
  // catch-up or push.
  state.archived.add(id);
  removeItem(id);
}

// ---- seen receipts ----------------------------------------------------------------------------------

function queueSeen(list) {
  for (const n of list) if (!n.seenAt && !n.readAt) state.seenQueue.add(n.id);
  if (!state.seenQueue.size || state.seenTimer) return;
  state.seenTimer = setTimeout(() => {
    state.seenTimer = null;
    const ids = [...state.seenQueue];
    state.seenQueue.clear();
    const now = new Date().toISOString();
    ids.forEach((id) => {
      const n = state.items.get(id);
      if (n && !n.seenAt) n.seenAt = now;
    });
    client?.markSeen(ids).catch(() => ids.forEach((id) => state.seenQueue.add(id)));
  }, 400);
}

// ---- pushes -----------------------------------------------------------------------------------------

function onNotification(n, { source }) {
  const id = Number(n.id);
  if (state.retracted.has(id) || isExpired(n) || n.archivedAt) return;
  const known = state.items.has(id);
  upsert(n);
  renderChrome();
  if (source === 'live' && !known && !n.readAt) {
    // A send does not push UnreadCountChanged: count each arrival ourselves.
    addUnread(1);
  }
  // A catch-up starts after the newest id the page knew (loadStart): what it brings arrived since, so it is news too.
  if (!known && !n.readAt) {
    toast(ui.toasts, {
      id,
      title: n.title || 'New notification',
      body: n.body || '',
      priority: String(n.priority || 'normal').toLowerCase(),
      action: { label: 'View', run: () => openPanel(id) },
    });
  }
}

function onRetracted(id) {
  state.retracted.add(id);
  removeItem(id);
  document.querySelectorAll(`.toast[data-id="${id}"]`).forEach((t) => t.remove());
  // Retracts push no count: ask again (also when the item was not on the current page).
  void refreshUnreadCount();
}

// ---- panel ------------------------------------------------------------------------------------------

function openPanel(focusId) {
  ui.panel.hidden = false;
  ui.bell.setAttribute('aria-expanded', 'true');
  queueSeen([...state.items.values()]);
  const target = focusId != null ? ui.list.querySelector(`li[data-id="${focusId}"] .nitem-main`) : null;
  (target || ui.panel.querySelector('[data-testid="filter-all"]'))?.focus();
}

function closePanel(returnFocus = true) {
  ui.panel.hidden = true;
  ui.bell.setAttribute('aria-expanded', 'false');
  if (returnFocus) ui.bell.focus();
}

ui.bell.addEventListener('click', () => (ui.panel.hidden ? openPanel() : closePanel()));
ui.openInbox.addEventListener('click', () => openPanel());
ui.panelClose.addEventListener('click', () => closePanel());
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && !ui.panel.hidden) closePanel();
});
document.addEventListener('click', (e) => {
  if (ui.panel.hidden) return;
  const t = e.target;
  if (!(t instanceof Node) || !t.isConnected) return;
  if (ui.panel.contains(t) || ui.bell.contains(t) || ui.toasts.contains(t) || ui.openInbox.contains(t)) return;
  closePanel(false);
});

ui.filter.addEventListener('click', (e) => {
  const b = e.target.closest('button[data-value]');
  if (!b || b.dataset.value === state.filter) return;
  state.filter = b.dataset.value;
  ui.filter.dataset.value = state.filter;
  for (const x of ui.filter.querySelectorAll('button')) x.setAttribute('aria-pressed', String(x === b));
  loadPage(true).catch(() => {});
});
ui.markAll.addEventListener('click', () => markAllRead());
ui.loadMore.addEventListener('click', () => loadPage(false));
ui.signout.addEventListener('click', () => signOut());

// ---- groups -----------------------------------------------------------------------------------------

async function loadGroups() {
  ui.groupsError.hidden = true;
  try {
    const r = await api('GET', '/api/groups');
    renderGroups(itemsOf(r.data));
  } catch (e) {
    ui.groupsError.textContent = errorText(e);
    ui.groupsError.hidden = false;
  }
}

function renderGroups(groups) {
  clear(ui.groupList);
  groups.sort((a, b) => String(a.name).localeCompare(String(b.name)));
  ui.groupsEmpty.hidden = groups.length > 0;
  ui.statGroups.textContent = String(groups.filter((g) => g.isMember).length);
  for (const g of groups) {
    const kind = String(g.kind || 'open').toLowerCase();
    const status = el('span', { class: 'small muted', 'data-testid': 'group-status', role: 'status' });
    let action = null;
    if (kind === 'open') {
      action = el('button', {
        type: 'button',
        class: g.isMember ? 'btn btn-small btn-quiet' : 'btn btn-small',
        'data-testid': g.isMember ? 'group-leave' : 'group-join',
        'aria-label': `${g.isMember ? 'Leave' : 'Join'} ${g.name}`,
        text: g.isMember ? 'Leave' : 'Join',
        on: { click: () => toggleGroup(g, action, status) },
      });
    }
    ui.groupList.append(
      el(
        'li',
        { class: 'gitem', 'data-testid': 'group-item', dataset: { name: g.name, kind, member: String(!!g.isMember) } },
        el('div', { class: 'gitem-main' },
          el('span', { class: 'gitem-name', text: g.name }),
          el('span', { class: `tag kind-${kind}`, text: kind }),
          g.isMember ? el('span', { class: 'tag tag-member', text: 'member' }) : null,
        ),
        el('div', { class: 'gitem-actions' }, status, action || el('span', { class: 'small muted', text: 'managed by admin' })),
      ),
    );
  }
}

async function toggleGroup(g, btn, status) {
  btn.disabled = true;
  status.textContent = '';
  try {
    if (!client) throw new Error('Not connected');
    if (g.isMember) await client.unsubscribe(g.name);
    else await client.subscribe(g.name);
    await loadGroups();
  } catch (e) {
    btn.disabled = false;
    status.textContent = hubErrorText(e);
  }
}
ui.groupsRefresh.addEventListener('click', () => loadGroups());

// ---- errors -----------------------------------------------------------------------------------------

function errorText(e) {
  if (e instanceof ApiError) return e.message;
  return e?.message || 'Something went wrong.';
}

function hubErrorText(e) {
  const m = String(e?.message || e || 'Failed');
  // "An unexpected error occurred invoking 'Subscribe' on the server. HubException: Group is restricted"
  const i = m.indexOf('HubException:');
  return i >= 0 ? m.slice(i + 'HubException:'.length).trim() : m;
}

function notifyError(e) {
  toast(ui.toasts, { title: 'Could not update', body: errorText(e), kind: 'error', priority: 'high' });
}

window.addEventListener('online', () => client && showConnectionState(ui.conn, client.state));
window.addEventListener('offline', () => showConnectionState(ui.conn, 'offline'));
