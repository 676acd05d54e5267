// Browser client for the Notifications hub (/hubs/notifications).
//
// ES module, no build step. Needs the SignalR browser client as the global `signalR`
// (<script src="/lib/signalr/signalr.min.js"></script>) or passed in as `options.signalR`.
//
//   import { createNotificationsClient } from '/js/notifications-client.js';
//   const client = createNotificationsClient({ getToken: async () => token, onNotification: n => … });
//
// What it does for you:
//  - connects with a fresh token from getToken() on every connect and reconnect;
//  - reconnects forever with capped exponential backoff (SignalR automatic reconnect), and starts a new
//    connection when the server closes one (e.g. on token expiry) unless stop() was called;
//  - on start and on every reconnect calls hub Sync(afterId, limit) page by page from the last catch-up's
//    cursor (live pushes never move it: one may have overtaken another still on the wire);
//  - de-duplicates notifications by id (live pushes that race with a sync are delivered once) and drops
//    retracted ones;
//  - acknowledges delivery (hub Ack) of everything it hands to onNotification (autoAck, default on).

const HUB_PATH = '/hubs/notifications';
// What the hub's Ack, MarkRead and MarkSeen take in one call (docs/api.md).
const MAX_IDS_PER_CALL = 1000;
// The largest page the hub's Sync returns; it refuses a larger limit.
const MAX_SYNC_PAGE_SIZE = 1000;

/** @typedef {'idle'|'connecting'|'connected'|'reconnecting'|'offline'|'stopped'} ClientState */

const DEFAULTS = {
  baseUrl: '',
  syncPageSize: 100,
  maxSyncPages: 1000,
  autoAck: true,
  autoStart: true,
  withCredentials: false,
  retryBaseMs: 1000,
  retryMaxMs: 30000,
  invokeTimeoutMs: 15000,
  storageKey: 'notifications-client:lastId',
  debug: false,
};

function noop() {}

function toId(v) {
  const n = typeof v === 'string' ? Number(v) : v;
  return Number.isFinite(n) ? n : NaN;
}

/**
 * Creates a client. All callbacks are optional.
 *
 * @param {object} options
 * @param {string} [options.baseUrl] origin (and path base) of the service, '' for same origin.
 * @param {() => (string|null|Promise<string|null>)} options.getToken returns a currently valid access token;
 *        called on every connect and reconnect.
 * @param {(n: object, info: {source: 'live'|'sync'}) => void} [options.onNotification]
 * @param {(count: number) => void} [options.onUnreadCount] server push UnreadCountChanged.
 * @param {(ids: number[]) => void} [options.onRead] server push NotificationsRead.
 * @param {(info: {upToId: number}) => void} [options.onAllRead] server push AllRead.
 * @param {(id: number) => void} [options.onRetracted] server push NotificationRetracted.
 * @param {(state: ClientState, info: {reconnected?: boolean, error?: unknown}) => void} [options.onStateChange]
 * @param {(info: {reconnected: boolean, received: number, lastId: number}) => void} [options.onSync]
 *        after each completed catch-up (a good moment to re-fetch the unread count).
 * @param {(error: unknown) => void} [options.onError] non-fatal errors (a failed sync page, a failed ack).
 * @param {(error: unknown) => void} [options.onUnauthorized] a connect attempt was refused with 401
 *        (the token is no longer accepted); the client keeps retrying and calls getToken() again.
 * @param {{getItem(k: string): string|null, setItem(k: string, v: string): void}} [options.storage]
 *        where to keep the highest id seen across page loads (e.g. localStorage); key = options.storageKey.
 * @param {number} [options.afterId] where to start when storage has nothing (default 0 = full history).
 */
export function createNotificationsClient(options = {}) {
  const opts = { ...DEFAULTS, ...options };
  const signalR = opts.signalR || globalThis.signalR;
  if (!signalR || !signalR.HubConnectionBuilder) {
    throw new Error('notifications-client: the SignalR browser client is not loaded (load /lib/signalr/signalr.min.js first, or pass options.signalR)');
  }
  if (typeof opts.getToken !== 'function') {
    throw new Error('notifications-client: options.getToken is required');
  }
  // A page size the hub refuses would fail every catch-up, retried forever.
  if (!Number.isInteger(opts.syncPageSize) || opts.syncPageSize < 1 || opts.syncPageSize > MAX_SYNC_PAGE_SIZE) {
    throw new RangeError(`notifications-client: options.syncPageSize must be a whole number from 1 to ${MAX_SYNC_PAGE_SIZE}`);
  }

  const cb = {
    notification: opts.onNotification || noop,
    unreadCount: opts.onUnreadCount || noop,
    read: opts.onRead || noop,
    allRead: opts.onAllRead || noop,
    retracted: opts.onRetracted || noop,
    stateChange: opts.onStateChange || noop,
    sync: opts.onSync || noop,
    error: opts.onError || noop,
    unauthorized: opts.onUnauthorized || noop,
  };

  const seen = new Set();        // ids handed to onNotification
  const retracted = new Set();   // ids retracted while we were running
  let lastId = readStoredLastId();
  let state = /** @type {ClientState} */ ('idle');
  let stopped = false;
  let startPromise = null;
  let everConnected = false;
  let restartWake = null;        // resolves the current backoff sleep early (online event, stop)
  let syncRunning = null;        // Promise of the running sync
  let syncAgain = false;
  let syncRetryTimer = null;
  let syncFailures = 0;
  let ackQueue = [];
  let ackTimer = null;
  const connectedWaiters = new Set();

  const baseUrl = String(opts.baseUrl || '').replace(/\/+$/, '');
  const logger = makeLogger(signalR, opts.debug);

  const connection = new signalR.HubConnectionBuilder()
    .withUrl(baseUrl + HUB_PATH, {
      accessTokenFactory: async () => (await opts.getToken()) || '',
      withCredentials: !!opts.withCredentials,
    })
    .withAutomaticReconnect({
      nextRetryDelayInMilliseconds: (ctx) => {
        if (stopped) return null;
        // First retry at once, then the reconnect is "offline" until it succeeds.
        if (ctx.previousRetryCount >= 1) setState('offline', { error: ctx.retryReason });
        if (ctx.previousRetryCount === 0) return 0;
        return retryDelay(ctx.previousRetryCount, ctx.retryReason);
      },
    })
    .configureLogging(logger)
    .build();

  // ---- server -> client -------------------------------------------------------------------------

  connection.on('ReceiveNotification', (n) => {
    deliver([n], 'live');
  });
  connection.on('UnreadCountChanged', (count) => {
    safe(cb.unreadCount, Number(count) || 0);
  });
  connection.on('NotificationsRead', (ids) => {
    const list = Array.isArray(ids) ? ids.map(toId).filter(Number.isFinite) : [];
    safe(cb.read, list);
  });
  connection.on('AllRead', (payload) => {
    const upToId = toId(payload && typeof payload === 'object' ? (payload.upToId ?? payload.UpToId) : payload);
    safe(cb.allRead, { upToId });
  });
  connection.on('NotificationRetracted', (id) => {
    const n = toId(id);
    if (!Number.isFinite(n)) return;
    retracted.add(n);
    safe(cb.retracted, n);
  });

  connection.onreconnecting((error) => {
    markDisconnected();
    if (!stopped) setState('reconnecting', { error });
  });
  connection.onreconnected(() => {
    if (stopped) return;
    setState('connected', { reconnected: true });
    void runSync(true);
  });
  connection.onclose((error) => {
    markDisconnected();
    if (stopped) {
      setState('stopped');
      return;
    }
    // Automatic reconnect never gives up, so we get here when the server closed the connection
    // (token expired, server shutdown with no reconnect allowed) — start a new one.
    setState('reconnecting', { error });
    void connectLoop(true);
  });

  const onOnline = () => {
    if (restartWake) restartWake();
  };
  if (typeof window !== 'undefined' && window.addEventListener) {
    window.addEventListener('online', onOnline);
  }

  // ---- connection lifecycle ----------------------------------------------------------------------

  function markDisconnected() {
    if (syncRetryTimer) {
      clearTimeout(syncRetryTimer);
      syncRetryTimer = null;
    }
  }

  // A 401 means "fetch a fresh token": the app gets onUnauthorized and the next attempt calls getToken()
  // again, so retry soon (twice), not after the long backoff the server outage before it had built up.
  let unauthorizedStreak = 0;
  function retryDelay(attempt, error) {
    if (isUnauthorized(error)) {
      unauthorizedStreak++;
      safe(cb.unauthorized, error);
      if (unauthorizedStreak <= 2) return 500;
    } else {
      unauthorizedStreak = 0;
    }
    return backoff(attempt);
  }

  function backoff(attempt) {
    const exp = Math.min(opts.retryMaxMs, opts.retryBaseMs * 2 ** Math.max(0, attempt - 1));
    const jitter = exp * 0.2 * (Math.random() * 2 - 1);
    return Math.max(250, Math.round(exp + jitter));
  }

  function sleep(ms) {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        if (restartWake === done) restartWake = null;
        resolve();
      }
      restartWake = done;
    });
  }

  async function connectLoop(reconnected) {
    let attempt = 0;
    while (!stopped) {
      if (connection.state !== signalR.HubConnectionState.Disconnected) {
        // Already connecting/connected (e.g. start() raced with onclose).
        return;
      }
      try {
        if (attempt === 0) setState(reconnected ? 'reconnecting' : 'connecting');
        await connection.start();
        if (stopped) {
          await connection.stop().catch(noop);
          return;
        }
        everConnected = true;
        setState('connected', { reconnected });
        await runSync(reconnected);
        return;
      } catch (error) {
        if (stopped) return;
        attempt++;
        setState('offline', { error });
        await sleep(retryDelay(attempt, error));
      }
    }
  }

  function start() {
    if (stopped) return Promise.reject(new Error('notifications-client: stopped'));
    if (!startPromise) {
      startPromise = new Promise((resolve) => {
        const waiter = () => resolve();
        connectedWaiters.add(waiter);
        void connectLoop(false);
      });
    }
    return startPromise;
  }

  async function stop() {
    stopped = true;
    if (restartWake) restartWake();
    if (typeof window !== 'undefined' && window.removeEventListener) {
      window.removeEventListener('online', onOnline);
    }
    markDisconnected();
    flushAcks(true);
    try {
      await connection.stop();
    } catch {
      /* already stopped */
    }
    setState('stopped');
  }

  function setState(next, info = {}) {
    if (state === next && next !== 'connected') return;
    if (state === 'stopped') return;
    state = next;
    if (next === 'connected') {
      unauthorizedStreak = 0;
      for (const w of [...connectedWaiters]) {
        connectedWaiters.delete(w);
        w();
      }
      if (ackQueue.length && !ackTimer) ackTimer = setTimeout(() => flushAcks(false), 50);
    }
    safe(cb.stateChange, next, info);
  }

  function whenConnected(timeoutMs) {
    if (connection.state === signalR.HubConnectionState.Connected) return Promise.resolve();
    if (stopped) return Promise.reject(new Error('notifications-client: stopped'));
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        connectedWaiters.delete(w);
        reject(new Error('notifications-client: not connected'));
      }, timeoutMs);
      const w = () => {
        clearTimeout(t);
        resolve();
      };
      connectedWaiters.add(w);
    });
  }

  async function invoke(method, ...args) {
    await whenConnected(opts.invokeTimeoutMs);
    return connection.invoke(method, ...args);
  }

  // ---- catch-up ----------------------------------------------------------------------------------

  function runSync(reconnected) {
    if (syncRunning) {
      syncAgain = true;
      return syncRunning;
    }
    syncRunning = (async () => {
      try {
        do {
          syncAgain = false;
          await syncOnce(reconnected);
        } while (syncAgain && !stopped);
      } finally {
        syncRunning = null;
      }
    })();
    return syncRunning;
  }

  async function syncOnce(reconnected) {
    let after = lastId;
    let received = 0;
    let more = false;
    try {
      for (let page = 0; page < opts.maxSyncPages && !stopped; page++) {
        if (connection.state !== signalR.HubConnectionState.Connected) return; // the next (re)connect syncs again
        const res = await connection.invoke('Sync', after, opts.syncPageSize);
        const items = Array.isArray(res?.items) ? res.items : [];
        received += deliver(items, 'sync');
        const cursor = toId(res?.cursor);
        const next = Number.isFinite(cursor) ? cursor : maxId(items, after);
        bumpLastId(next);
        more = !!res?.hasMore && next > after;
        if (!more) break;
        after = next;
      }
      if (stopped || connection.state !== signalR.HubConnectionState.Connected) return;
      if (more) {
        // maxSyncPages bounds one run, not the catch-up: go on from where it stopped before reporting it done.
        syncAgain = true;
        return;
      }
      syncFailures = 0;
      safe(cb.sync, { reconnected: !!reconnected, received, lastId });
    } catch (error) {
      safe(cb.error, error);
      // Still connected (e.g. the hub answered "rate limited"): try the catch-up again later.
      if (!stopped && connection.state === signalR.HubConnectionState.Connected && !syncRetryTimer) {
        syncFailures++;
        syncRetryTimer = setTimeout(() => {
          syncRetryTimer = null;
          void runSync(reconnected);
        }, backoff(syncFailures));
      }
    }
  }

  function maxId(items, fallback) {
    let m = fallback;
    for (const n of items) {
      const id = toId(n?.id);
      if (id > m) m = id;
    }
    return m;
  }

  /** Hands new notifications to onNotification; returns how many were new. */
  function deliver(items, source) {
    const fresh = [];
    for (const n of items) {
      const id = toId(n?.id);
      if (!Number.isFinite(id)) continue;
      // Only a sync page moves the resume point: a live push may overtake one still on the wire (sends commit
      // concurrently), and the next catch-up must not start above the one that was overtaken.
      if (source === 'sync') bumpLastId(id);
      if (seen.has(id) || retracted.has(id)) continue;
      seen.add(id);
      fresh.push(id);
      safe(cb.notification, n, { source });
    }
    if (fresh.length && opts.autoAck) queueAck(fresh);
    return fresh.length;
  }

  function bumpLastId(id) {
    if (Number.isFinite(id) && id > lastId) {
      lastId = id;
      if (opts.storage) {
        try {
          opts.storage.setItem(opts.storageKey, String(lastId));
        } catch {
          /* storage full or unavailable */
        }
      }
    }
  }

  function readStoredLastId() {
    let v = NaN;
    if (opts.storage) {
      try {
        v = toId(opts.storage.getItem(opts.storageKey));
      } catch {
        /* unavailable */
      }
    }
    if (Number.isFinite(v) && v >= 0) return v;
    const a = toId(opts.afterId);
    return Number.isFinite(a) && a >= 0 ? a : 0;
  }

  // ---- acks --------------------------------------------------------------------------------------

  function queueAck(ids) {
    ackQueue.push(...ids);
    if (!ackTimer) ackTimer = setTimeout(() => flushAcks(false), 50);
  }

  function flushAcks(final) {
    if (ackTimer) {
      clearTimeout(ackTimer);
      ackTimer = null;
    }
    if (!ackQueue.length) return;
    const ids = ackQueue;
    ackQueue = [];
    if (connection.state !== signalR.HubConnectionState.Connected) {
      if (!final) ackQueue.push(...ids);
      return;
    }
    // The hub takes at most MAX_IDS_PER_CALL ids per call; a larger batch would be refused every time.
    for (let i = 0; i < ids.length; i += MAX_IDS_PER_CALL) {
      const chunk = ids.slice(i, i + MAX_IDS_PER_CALL);
      connection.invoke('Ack', chunk).catch((e) => {
        if (!final) ackQueue.push(...chunk);
        safe(cb.error, e);
      });
    }
  }

  // ---- helpers -----------------------------------------------------------------------------------

  function safe(fn, ...args) {
    try {
      fn(...args);
    } catch (e) {
      // A throwing callback must not break the connection handlers.
      if (fn !== cb.error) safe(cb.error, e);
      else if (typeof console !== 'undefined') console.warn('[notifications] callback failed', e);
    }
  }

  function ids(list) {
    const arr = (Array.isArray(list) ? list : [list]).map(toId).filter(Number.isFinite);
    return arr;
  }

  const client = {
    get state() {
      return state;
    },
    /** Highest notification id seen so far (the next Sync starts after it). */
    get lastId() {
      return lastId;
    },
    /** The underlying HubConnection (for advanced use). */
    connection,
    /** True when the id was delivered to onNotification. */
    hasSeen: (id) => seen.has(toId(id)),
    isRetracted: (id) => retracted.has(toId(id)),
    start,
    stop,
    ack: (list) => invoke('Ack', ids(list)),
    markRead: (list) => invoke('MarkRead', ids(list)),
    markAllRead: () => invoke('MarkAllRead'),
    markSeen: (list) => invoke('MarkSeen', ids(list)),
    subscribe: (group) => invoke('Subscribe', String(group)),
    unsubscribe: (group) => invoke('Unsubscribe', String(group)),
    getUnreadCount: async () => Number(await invoke('GetUnreadCount')) || 0,
    /** Run a catch-up now (it also runs on every (re)connect). */
    sync: () => (connection.state === signalR.HubConnectionState.Connected ? runSync(false) : Promise.resolve()),
  };
  Object.defineProperty(client, 'everConnected', { get: () => everConnected });

  if (opts.autoStart) void start();
  return client;
}

function isUnauthorized(error) {
  return !!error && (error.statusCode === 401 || /\b401\b/.test(String(error.message)));
}

/** Routes SignalR logs: nothing is written with console.error, so an expected disconnect is not an "error". */
function makeLogger(signalR, debug) {
  const L = signalR.LogLevel || {};
  return {
    log(level, message) {
      if (typeof console === 'undefined') return;
      if (level >= (L.Warning ?? 3)) {
        if (level === (L.None ?? 6)) return;
        console.warn('[notifications] ' + message);
      } else if (debug) {
        console.debug('[notifications] ' + message);
      }
    },
  };
}

export default createNotificationsClient;
