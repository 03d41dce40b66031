// Parley presence wallboard: one tile per address, live over GET /api/v1/stream (docs/api.md).
// Plain browser JavaScript, no build step, nothing loaded from outside parleyd. Server data
// reaches the page only through textContent and attributes, never as markup.
'use strict';

(() => {
  const STORE_ADDED = 'parley.dashboard.addresses';   // localStorage: addresses added by hand
  const STORE_SHOW_ALL = 'parley.dashboard.showAll';  // localStorage: the toggle
  const SESSION_TOKEN = 'parley.dashboard.token';     // sessionStorage: the bearer token
  const POLL_MS = 5000;         // presence polling while the stream is down
  const STATS_MS = 5000;
  const BACKOFF_MIN_MS = 1000;
  const BACKOFF_MAX_MS = 30000;
  const MAX_WATCHED = 1000;     // the server's limit per stream client
  const MAX_BATCH = 100;        // the batch read's limit
  const MAX_AUTO_TILES = 200;   // tiles "show every change" may add; the longest unchanged go first

  const SHOW_LABEL = {
    available: 'Available', chat: 'Free to chat', away: 'Away', xa: 'Extended away',
    dnd: 'Do not disturb', offline: 'Offline',
  };
  const STATE_OF_SHOW = { available: 'available', chat: 'available', away: 'away', xa: 'away', dnd: 'busy', offline: 'offline' };
  const SVG_NS = 'http://www.w3.org/2000/svg';
  // A telephone handset (24x24).
  const PHONE_PATH = 'M6.6 10.8a15.1 15.1 0 0 0 6.6 6.6l2.2-2.2a1 1 0 0 1 1-.25 11.4 11.4 0 0 0 3.6.57 1 1 0 0 1 1 1V20a1 1 0 0 1-1 1A17 17 0 0 1 3 4a1 1 0 0 1 1-1h3.5a1 1 0 0 1 1 1c0 1.25.2 2.45.57 3.57a1 1 0 0 1-.25 1z';

  const $ = (id) => document.getElementById(id);
  const grid = $('grid');
  const search = $('search');
  const showAll = $('show-all');
  const hint = $('search-hint');

  /** address (the server's canonical form) -> tile record */
  const tiles = new Map();
  /** Addresses removed by hand this session: "show every change" does not bring them back. */
  const dismissed = new Set();
  let token = '';

  // ---- small helpers ---------------------------------------------------------------------

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function phoneIcon() {
    const svg = document.createElementNS(SVG_NS, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    const path = document.createElementNS(SVG_NS, 'path');
    path.setAttribute('d', PHONE_PATH);
    svg.appendChild(path);
    return svg;
  }

  function storageGet(store, key) {
    try { return store.getItem(key); } catch { return null; }  // storage may be disabled
  }
  function storageSet(store, key, value) {
    try { store.setItem(key, value); } catch { /* the page still works for this visit */ }
  }

  /**
   * The server's canonical form of an address, guessed so that a tile exists before the server
   * answers: "sip:" unless a scheme is given, scheme and host in lower case (as parleyd does).
   */
  function canonical(address) {
    let a = address.trim();
    if (!/^[a-z][a-z0-9+.-]*:/i.test(a)) a = 'sip:' + a;
    const colon = a.indexOf(':');
    a = a.slice(0, colon).toLowerCase() + a.slice(colon);
    const at = a.lastIndexOf('@');
    if (at > colon) a = a.slice(0, at + 1) + a.slice(at + 1).toLowerCase();
    return a;
  }

  function looksLikeAddress(text) {
    return /^(?:(?:sip|sips|xmpp):)?[^\s@:,/]+@[^\s@:,/]+$/i.test(text.trim());
  }

  function splitAddress(address) {
    const colon = address.indexOf(':');
    const scheme = colon > 0 ? address.slice(0, colon) : '';
    const rest = colon > 0 ? address.slice(colon + 1) : address;
    const at = rest.lastIndexOf('@');
    const user = at > 0 ? rest.slice(0, at) : rest;
    const host = at > 0 ? rest.slice(at + 1) : '';
    return { user, domain: scheme === 'xmpp' ? `${host} · XMPP` : host };
  }

  function relativeTime(then, now) {
    const s = Math.max(0, Math.round((now - then) / 1000));
    if (s < 10) return 'just now';
    if (s < 60) return `${s} s ago`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m} min ago`;
    const h = Math.floor(m / 60);
    if (h < 48) return `${h} h ago`;
    return `${Math.floor(h / 24)} days ago`;
  }

  function plural(n, one, many) { return `${n} ${n === 1 ? one : many}`; }

  // ---- token -------------------------------------------------------------------------------

  /** #token=... in the page's address: kept for this tab, then removed from the address bar. */
  function takeTokenFromFragment() {
    const parts = location.hash.replace(/^#/, '').split('&').filter(Boolean);
    const given = parts.find((p) => p.startsWith('token='));
    if (given !== undefined) {
      try { token = decodeURIComponent(given.slice('token='.length)); } catch { token = given.slice(6); }
      storageSet(sessionStorage, SESSION_TOKEN, token);
      const rest = parts.filter((p) => !p.startsWith('token=')).join('&');
      history.replaceState(history.state, '', location.pathname + location.search + (rest ? `#${rest}` : ''));
    } else {
      token = storageGet(sessionStorage, SESSION_TOKEN) || '';
    }
  }

  function authHeaders() { return token ? { Authorization: `Bearer ${token}` } : {}; }

  function askForToken(status) {
    $('token-why').textContent = status === 403
      ? 'This token lacks the read scope. Enter a token that has it.'
      : token ? 'The server refused this token. Enter another one.'
        : 'This dashboard needs an API token with the read scope.';
    const form = $('token-form');
    if (form.hidden) {
      form.hidden = false;
      $('token-input').focus();
    }
  }

  $('token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const input = $('token-input');
    token = input.value.trim();
    input.value = '';
    storageSet(sessionStorage, SESSION_TOKEN, token);
    $('token-form').hidden = true;
    pollStats();
    reconnectNow();
  });

  class AuthError extends Error {}

  async function apiGet(path) {
    const r = await fetch(path, { headers: authHeaders(), cache: 'no-store', credentials: 'omit' });
    if (r.status === 401 || r.status === 403) {
      askForToken(r.status);
      throw new AuthError(`HTTP ${r.status}`);
    }
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    return r.json();
  }

  // ---- header health -----------------------------------------------------------------------

  function setHealth(which, state, value, title) {
    const item = $(`health-${which}`);
    item.dataset.state = state;
    item.querySelector('.health-value').textContent = value;
    item.title = title || '';
  }

  let statsBusy = false;
  async function pollStats() {
    if (statsBusy) return;
    statsBusy = true;
    try {
      const s = await apiGet('api/v1/stats');
      if (s.node) $('node').textContent = s.version ? `${s.node} · v${s.version}` : String(s.node);
      const x = s.xmpp || {};
      if (!x.enabled) setHealth('xmpp', 'unknown', 'off', 'No XMPP bridge configured');
      else if (x.link === 'up') setHealth('xmpp', 'up', 'up');
      else if (x.link === 'connecting') setHealth('xmpp', 'degraded', 'connecting');
      else setHealth('xmpp', 'down', 'down');
      const st = s.storage || {};
      const backend = typeof st.backend === 'string' ? st.backend : 'storage';
      if (st.up) {
        const ms = typeof st.latency_ms === 'number' && backend !== 'memory' ? ` · ${st.latency_ms.toFixed(1)} ms` : '';
        setHealth('storage', 'up', `${backend}${ms}`);
      } else {
        setHealth('storage', 'down', `${backend} down`);
      }
    } catch (e) {
      const why = e instanceof AuthError ? 'token needed' : 'no answer';
      setHealth('xmpp', 'unknown', '?', why);
      setHealth('storage', 'unknown', '?', why);
    } finally {
      statsBusy = false;
    }
  }

  // ---- tiles -------------------------------------------------------------------------------

  function makeTile(address, origin) {
    const li = el('li', 'tile');
    const t = { address, origin, el: li, presence: null, changed: null, lastSeen: Date.now() };
    const head = el('div', 'tile-head');
    t.avatar = el('span', 'avatar');
    t.avatar.setAttribute('aria-hidden', 'true');
    const who = el('div', 'who');
    t.user = el('span', 'user');
    t.domain = el('span', 'domain');
    who.append(t.user, t.domain);
    t.remove = el('button', 'remove', '×');
    t.remove.type = 'button';
    t.remove.addEventListener('click', () => removeTile(t));
    head.append(t.avatar, who, t.remove);

    const stateRow = el('div', 'state-row');
    t.state = el('span', 'state');
    t.phone = el('span', 'phone');
    t.phone.append(phoneIcon(), document.createTextNode('On the phone'));
    stateRow.append(t.state, t.phone);

    t.note = el('p', 'note');
    const meta = el('div', 'meta');
    t.devices = el('span', 'devices');
    t.since = el('time', 'since');
    meta.append(t.devices, t.since);
    li.append(head, stateRow, t.note, meta);
    setAddress(t, address);
    render(t);
    return t;
  }

  function setAddress(t, address) {
    t.address = address;
    t.el.dataset.address = address;
    const { user, domain } = splitAddress(address);
    t.user.textContent = user;
    t.user.title = address;
    t.domain.textContent = domain;
    t.remove.hidden = t.origin === 'url';
    t.remove.setAttribute('aria-label', `Stop watching ${address}`);
  }

  function addTile(address, origin) {
    const t = makeTile(address, origin);
    tiles.set(address, t);
    grid.appendChild(t.el);
    applyFilterTo(t);
    updateSummary();
    return t;
  }

  function removeTile(t) {
    tiles.delete(t.address);
    t.el.remove();
    dismissed.add(t.address);
    if (t.origin === 'added') saveAdded();
    send({ op: 'unwatch', addresses: [t.address] });
    updateSummary();
    search.focus();
  }

  /** The tile an address from the server belongs to, re-keyed to the server's spelling. */
  function findTile(address) {
    let t = tiles.get(address);
    if (t) return t;
    const key = canonical(address);
    t = tiles.get(key);
    if (t && key !== address && !tiles.has(address)) {
      tiles.delete(key);
      tiles.set(address, t);
      setAddress(t, address);
      if (t.origin === 'added') saveAdded();
    }
    return t;
  }

  /** The longest unchanged tiles that "show every change" added, beyond MAX_AUTO_TILES. */
  function trimAutoTiles() {
    const auto = [...tiles.values()].filter((t) => t.origin === 'auto');
    if (auto.length <= MAX_AUTO_TILES) return;
    auto.sort((a, b) => a.lastSeen - b.lastSeen);
    for (const t of auto.slice(0, auto.length - MAX_AUTO_TILES)) {
      tiles.delete(t.address);
      t.el.remove();
    }
  }

  function applyPresence(p) {
    if (!p || typeof p !== 'object' || typeof p.address !== 'string' || !p.address) return;
    let t = findTile(p.address);
    if (!t) {
      // Someone not on the board: a change heard through {"op":"watch","all":true}.
      if (!showAll.checked || p.error || dismissed.has(p.address) || tiles.size >= MAX_WATCHED) return;
      t = addTile(p.address, 'auto');
      trimAutoTiles();
    }
    const before = t.presence;
    t.presence = p;
    t.lastSeen = Date.now();
    const parsed = typeof p.changed === 'string' ? Date.parse(p.changed) : NaN;
    t.changed = Number.isNaN(parsed) ? null : parsed;
    render(t);
    if (before && !before.error && !p.error
        && (before.show !== p.show || Boolean(before.on_the_phone) !== Boolean(p.on_the_phone))) {
      t.el.classList.remove('flash');
      void t.el.offsetWidth;  // restarts the animation
      t.el.classList.add('flash');
      $('announce').textContent = `${splitAddress(t.address).user}: `
        + (t.state.hidden ? 'on the phone' : t.state.textContent + (p.on_the_phone === true ? ', on the phone' : ''));
    }
    applyFilterTo(t);
    updateSummary();
  }

  function render(t) {
    const p = t.presence;
    const li = t.el;
    const initial = splitAddress(t.address).user.slice(0, 1) || '?';
    t.avatar.replaceChildren();
    if (!p) {
      li.dataset.show = 'unknown';
      li.dataset.onThePhone = 'false';
      li.dataset.state = 'pending';
      t.avatar.textContent = initial;
      t.state.textContent = 'Waiting…';
      t.state.hidden = false;
      t.phone.hidden = true;
      t.note.textContent = '';
      t.devices.textContent = '';
      t.since.textContent = '';
      return;
    }
    if (p.error) {
      li.dataset.show = 'error';
      li.dataset.onThePhone = 'false';
      li.dataset.state = 'error';
      t.avatar.textContent = initial;
      t.state.textContent = p.error.code === 'not_served' ? 'Not served here' : 'Unavailable';
      t.state.hidden = false;
      t.phone.hidden = true;
      t.note.textContent = typeof p.error.message === 'string' ? p.error.message : '';
      t.devices.textContent = '';
      t.since.textContent = '';
      t.since.removeAttribute('datetime');
      return;
    }
    const show = Object.hasOwn(SHOW_LABEL, p.show) ? p.show : 'offline';
    const onPhone = p.on_the_phone === true;
    li.dataset.show = show;
    li.dataset.onThePhone = String(onPhone);
    li.dataset.state = onPhone ? 'phone' : STATE_OF_SHOW[show];
    if (onPhone) t.avatar.appendChild(phoneIcon());
    else t.avatar.textContent = initial;
    t.state.textContent = SHOW_LABEL[show];
    // On the phone is why the show is dnd: one red label says it.
    t.state.hidden = onPhone && show === 'dnd';
    t.phone.hidden = !onPhone;
    t.note.textContent = typeof p.note === 'string' ? p.note : '';
    t.note.title = t.note.textContent;

    const devices = Array.isArray(p.devices) ? p.devices : [];
    const open = devices.filter((d) => d && d.basic === 'open').length;
    if (open > 0) t.devices.textContent = `${plural(open, 'device', 'devices')} online`;
    else if (devices.length > 0 && t.changed !== null) t.devices.textContent = `${plural(devices.length, 'device', 'devices')}, none online`;
    else t.devices.textContent = 'No devices';
    li.dataset.devices = String(devices.length);

    if (t.changed !== null) {
      t.since.dateTime = new Date(t.changed).toISOString();
      t.since.title = `Changed ${new Date(t.changed).toLocaleString()}`;
    } else {
      t.since.removeAttribute('datetime');
      t.since.title = '';
    }
    tickOne(t, Date.now());
  }

  function tickOne(t, now) {
    if (!t.presence || t.presence.error) return;
    t.since.textContent = t.changed === null ? 'never published' : relativeTime(t.changed, now);
  }

  function tick() {
    if (document.hidden) return;
    const now = Date.now();
    for (const t of tiles.values()) tickOne(t, now);
  }

  function updateSummary() {
    let available = 0; let phone = 0; let offline = 0;
    for (const t of tiles.values()) {
      const s = t.el.dataset.state;
      if (s === 'available') available += 1;
      else if (s === 'phone') phone += 1;
      else if (s === 'offline') offline += 1;
    }
    $('summary').textContent = tiles.size === 0 ? ''
      : `${plural(tiles.size, 'address', 'addresses')} · ${available} available · ${phone} on the phone · ${offline} offline`;
    $('empty').hidden = tiles.size > 0;
  }

  // ---- addresses: the page's URL, added by hand, heard through watch-all -------------------

  function addressesFromUrl() {
    const out = [];
    for (const value of new URLSearchParams(location.search).getAll('addresses')) {
      for (const a of value.split(',')) if (a.trim()) out.push(canonical(a));
    }
    return out;
  }

  function loadAdded() {
    try {
      const list = JSON.parse(storageGet(localStorage, STORE_ADDED) || '[]');
      return Array.isArray(list) ? list.filter((a) => typeof a === 'string' && looksLikeAddress(a)) : [];
    } catch {
      return [];
    }
  }

  function saveAdded() {
    const added = [...tiles.values()].filter((t) => t.origin === 'added').map((t) => t.address);
    storageSet(localStorage, STORE_ADDED, JSON.stringify(added));
  }

  function watchByHand(text) {
    const address = canonical(text);
    const existing = findTile(address);
    if (existing) {
      if (existing.origin === 'auto') {  // keep it for good
        existing.origin = 'added';
        saveAdded();
      }
      existing.el.scrollIntoView({ block: 'nearest' });
      return;
    }
    if (tiles.size >= MAX_WATCHED) {
      hint.textContent = `At most ${MAX_WATCHED} addresses.`;
      return;
    }
    dismissed.delete(address);
    const t = addTile(address, 'added');
    saveAdded();
    send({ op: 'watch', addresses: [address] });
    if (!streamOpen()) pollPresence();
    t.el.scrollIntoView({ block: 'nearest' });
  }

  // ---- search ------------------------------------------------------------------------------

  function applyFilterTo(t) {
    const q = search.value.trim().toLowerCase();
    const p = t.presence;
    const note = p && typeof p.note === 'string' ? p.note.toLowerCase() : '';
    t.el.hidden = q !== '' && !t.address.toLowerCase().includes(q) && !note.includes(q);
  }

  function applyFilter() {
    for (const t of tiles.values()) applyFilterTo(t);
    const q = search.value.trim();
    if (q && looksLikeAddress(q) && !tiles.has(canonical(q))) {
      hint.textContent = `Press Enter to watch ${canonical(q)}`;
    } else if (q && ![...tiles.values()].some((t) => !t.el.hidden)) {
      hint.textContent = 'No tile matches.';
    } else {
      hint.textContent = '';
    }
  }

  search.addEventListener('input', applyFilter);
  search.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Enter') return;
    ev.preventDefault();
    const q = search.value.trim();
    if (!looksLikeAddress(q)) return;
    watchByHand(q);
    search.value = '';
    applyFilter();
  });

  showAll.addEventListener('change', () => {
    storageSet(localStorage, STORE_SHOW_ALL, showAll.checked ? '1' : '0');
    if (!showAll.checked) {
      for (const t of [...tiles.values()]) {
        if (t.origin === 'auto') {
          tiles.delete(t.address);
          t.el.remove();
        }
      }
      updateSummary();
    }
    // The stream has no "unwatch all": a new connection watches exactly what the board shows.
    reconnectNow();
  });

  // ---- the live stream, and polling while it is down -----------------------------------------

  let ws = null;
  let backoff = BACKOFF_MIN_MS;
  let reconnectTimer = 0;
  let pollTimer = 0;

  function streamOpen() { return ws !== null && ws.readyState === WebSocket.OPEN; }

  function send(message) {
    if (streamOpen()) ws.send(JSON.stringify(message));
  }

  function streamUrl() {
    const url = new URL('api/v1/stream', location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    url.hash = '';
    // A browser cannot set Authorization on a WebSocket: RFC 6750 §2.3's query parameter.
    url.search = token ? `?access_token=${encodeURIComponent(token)}` : '';
    return url.href;
  }

  function connect() {
    clearTimeout(reconnectTimer);
    let sock;
    try {
      sock = new WebSocket(streamUrl());
    } catch {
      streamDown();
      return;
    }
    ws = sock;
    if (!pollTimer) setHealth('stream', 'degraded', 'connecting');
    sock.addEventListener('open', () => {
      if (ws !== sock) return;
      stopPolling();
      setHealth('stream', 'up', 'connected');
      const addresses = [...tiles.keys()].slice(0, MAX_WATCHED);
      if (addresses.length) sock.send(JSON.stringify({ op: 'watch', addresses }));
      if (showAll.checked) sock.send(JSON.stringify({ op: 'watch', all: true }));
    });
    sock.addEventListener('message', (ev) => {
      if (ws === sock) onStreamMessage(ev.data);
    });
    sock.addEventListener('close', () => {
      if (ws !== sock) return;
      ws = null;
      streamDown();
    });
  }

  function onStreamMessage(data) {
    let msg;
    try { msg = JSON.parse(data); } catch { return; }
    if (!msg || typeof msg !== 'object') return;
    if (msg.type === 'hello') {
      backoff = BACKOFF_MIN_MS;  // a server that answers; a refusal right after open still backs off
      if (typeof msg.node === 'string') {
        $('node').textContent = typeof msg.version === 'string' ? `${msg.node} · v${msg.version}` : msg.node;
      }
    } else if (msg.type === 'presence') {
      applyPresence(msg.presence);
    } else if (msg.type === 'error' && msg.error) {
      console.warn('parley stream:', msg.error.code, msg.error.message);
    }
  }

  function streamDown() {
    startPolling();
    const wait = backoff;
    backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
    setHealth('stream', 'degraded', 'reconnecting',
      `Live stream down: polling every ${POLL_MS / 1000} s, next try in ${Math.round(wait / 1000)} s`);
    reconnectTimer = setTimeout(connect, wait);
  }

  function reconnectNow() {
    clearTimeout(reconnectTimer);
    backoff = BACKOFF_MIN_MS;
    const old = ws;
    ws = null;
    if (old) old.close();
    connect();
  }

  function startPolling() {
    if (pollTimer) return;
    pollTimer = setInterval(pollPresence, POLL_MS);
    pollPresence();
  }

  function stopPolling() {
    clearInterval(pollTimer);
    pollTimer = 0;
  }

  let pollBusy = false;
  async function pollPresence() {
    if (pollBusy) return;
    pollBusy = true;
    try {
      const all = [...tiles.keys()];
      for (let i = 0; i < all.length; i += MAX_BATCH) {
        const chunk = all.slice(i, i + MAX_BATCH);
        const body = await apiGet(`api/v1/presence?addresses=${encodeURIComponent(chunk.join(','))}`);
        if (streamOpen()) break;  // the stream's snapshot is newer
        for (const p of Array.isArray(body.presence) ? body.presence : []) applyPresence(p);
      }
    } catch {
      // The header shows the server is unreachable; the next round tries again.
    } finally {
      pollBusy = false;
    }
  }

  // ---- start ---------------------------------------------------------------------------------

  takeTokenFromFragment();
  showAll.checked = storageGet(localStorage, STORE_SHOW_ALL) !== '0';
  for (const a of addressesFromUrl()) if (!tiles.has(a) && tiles.size < MAX_WATCHED) addTile(a, 'url');
  for (const a of loadAdded()) if (!tiles.has(a) && tiles.size < MAX_WATCHED) addTile(a, 'added');
  updateSummary();
  connect();
  pollStats();
  setInterval(pollStats, STATS_MS);
  setInterval(tick, 1000);
})();
