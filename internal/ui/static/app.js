// waba web UI: plain JavaScript, no build step. Every data call carries the admin token
// (sessionStorage) as a Bearer header; the events stream takes it as ?token= because
// EventSource cannot set headers.
'use strict';

const $ = (id) => document.getElementById(id);
const S = {
  token: sessionStorage.getItem('waba.token') || '',
  tab: 'chats',
  peer: '',
  business: '',
  version: '',
  stats: null,
  clockBase: 0, clockAt: 0, // virtual time (ms) at wall time clockAt
  network: 'up',
  openHooks: new Set(),
  chat: [],
  user: null,
  es: null,
  busy: {},
};

// ---------- helpers ----------
function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'html') el.innerHTML = v; // only ever with escaped, formatted text
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const kid of kids.flat()) {
    if (kid === undefined || kid === null || kid === false) continue;
    el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return el;
}
function esc(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}
// WhatsApp formatting on already-escaped text: ```mono```, *bold*, _italic_, ~strike~.
function waFormat(text) {
  const parts = esc(text).split('```');
  let out = '';
  parts.forEach((p, i) => {
    if (i % 2 === 1 && i < parts.length - 1) { out += '<code>' + p + '</code>'; return; }
    if (i % 2 === 1) p = '```' + p; // an unclosed fence stays literal
    p = p.replace(/(^|[\s([{>])\*(?=\S)([^*\n]*?\S)\*(?=$|[\s)\]}.,!?:;<])/g, '$1<b>$2</b>')
      .replace(/(^|[\s([{>])_(?=\S)([^_\n]*?\S)_(?=$|[\s)\]}.,!?:;<])/g, '$1<i>$2</i>')
      .replace(/(^|[\s([{>])~(?=\S)([^~\n]*?\S)~(?=$|[\s)\]}.,!?:;<])/g, '$1<s>$2</s>');
    out += p;
  });
  return out.replace(/\n/g, '<br>');
}
function fmtPhone(n) {
  n = String(n || '');
  const m = n.match(/^1(\d{3})(\d{3})(\d{4})$/);
  return m ? `+1 ${m[1]} ${m[2]} ${m[3]}` : '+' + n;
}
function hhmm(t) {
  const d = new Date(t);
  return isNaN(d) ? '' : d.toISOString().slice(11, 16);
}
function fmtTime(t) {
  const d = new Date(t);
  return isNaN(d) ? '' : d.toISOString().slice(0, 19).replace('T', ' ');
}
function toast(msg, bad) {
  const t = $('toast');
  t.textContent = msg;
  t.className = 'toast' + (bad ? ' error' : '');
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 4000);
}
class APIError extends Error {
  constructor(status, msg, body) { super(msg); this.status = status; this.body = body; }
}
async function api(method, path, body) {
  const init = { method, headers: { Authorization: 'Bearer ' + S.token } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const r = await fetch(path, init);
  const txt = await r.text();
  let data = txt;
  try { data = txt ? JSON.parse(txt) : {}; } catch (e) { /* text answer (/metrics) */ }
  if (r.status === 401) { logout('Your session ended; log in again.'); throw new APIError(401, 'unauthorized', data); }
  if (!r.ok) {
    const e = data && (data.error || (data.errors && data.errors[0]));
    throw new APIError(r.status, e ? (e.message || e.title || e.details || e.code) : 'HTTP ' + r.status, data);
  }
  return data;
}
async function act(fn, okMsg) {
  try { const r = await fn(); if (okMsg) toast(okMsg); refreshSoon(); return r; } catch (e) { if (e.status !== 401) toast(e.message, true); }
}

// ---------- login ----------
async function login(ev) {
  ev.preventDefault();
  const user = $('login-user').value, pass = $('login-pass').value, np = $('login-newpass').value;
  $('login-error').textContent = '';
  $('login-submit').disabled = true;
  try {
    const r = await fetch('/v1/users/login', {
      method: 'POST',
      headers: { Authorization: 'Basic ' + btoa(unescape(encodeURIComponent(user + ':' + pass))), 'Content-Type': 'application/json' },
      body: np ? JSON.stringify({ new_password: np }) : '{}',
    });
    const data = await r.json().catch(() => ({}));
    if (r.ok && data.users && data.users[0]) {
      S.token = data.users[0].token;
      sessionStorage.setItem('waba.token', S.token);
      $('login-pass').value = ''; $('login-newpass').value = '';
      start();
      return;
    }
    const e = (data.errors && data.errors[0]) || {};
    if (e.code === 1024) {
      $('newpass-row').hidden = false;
      $('login-newpass').required = true;
      $('login-newpass').focus();
      $('login-error').textContent = 'Set a new password to finish the first login.';
    } else {
      $('login-error').textContent = (e.title || 'Login failed') + (e.details ? ': ' + e.details : '');
    }
  } catch (err) {
    $('login-error').textContent = 'waba does not answer: ' + err.message;
  } finally {
    $('login-submit').disabled = false;
  }
}
function logout(msg) {
  if (S.es) { S.es.close(); S.es = null; }
  if (S.token && !msg) fetch('/v1/users/logout', { method: 'POST', headers: { Authorization: 'Bearer ' + S.token } }).catch(() => {});
  S.token = '';
  sessionStorage.removeItem('waba.token');
  $('app').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = msg || '';
  $('login-pass').focus();
}

// ---------- start, live updates ----------
async function start() {
  $('login').hidden = true;
  $('app').hidden = false;
  try {
    const info = await api('GET', '/ui/api/info');
    S.business = info.business;
    S.shards = info.shards;
    S.nodes = info.nodes;
    $('biz').textContent = fmtPhone(info.business);
    setClock(info.now);
  } catch (e) { return; }
  const want = (location.hash || '').slice(1);
  showTab(['chats', 'users', 'webhooks', 'templates', 'dashboard'].includes(want) ? want : 'chats');
  connect();
  loadNetwork();
  refresh();
}
function connect() {
  if (S.es) S.es.close();
  const es = new EventSource('/ui/events?token=' + encodeURIComponent(S.token));
  S.es = es;
  es.addEventListener('stats', (ev) => {
    $('live').className = 'live';
    const s = JSON.parse(ev.data);
    S.stats = s;
    setClock(s.now);
    renderTop();
    if (S.tab === 'dashboard') renderDashCards();
    if (s.version !== S.version) { S.version = s.version; refresh(); }
  });
  es.onerror = () => {
    $('live').className = 'live off';
    // A closed stream after logout or an expired token: check the token.
    if (es.readyState === EventSource.CLOSED) setTimeout(() => { if (S.token) api('GET', '/ui/api/info').then(connect, () => {}); }, 2000);
  };
}
function setClock(now) {
  S.clockBase = Date.parse(now); S.clockAt = Date.now();
  renderClock();
}
function vnow() { return new Date(S.clockBase + (Date.now() - S.clockAt)); }
function renderClock() {
  if (!S.clockBase) return;
  const t = fmtTime(vnow()).slice(0, 16) + ' UTC';
  $('clock').textContent = '⏱ ' + t;
  if (S.tab === 'dashboard') $('dash-clock').textContent = fmtTime(vnow()) + ' UTC';
}
function renderTop() {
  const s = S.stats;
  if (!s) return;
  $('rates').textContent = `${s.rate_in.toFixed(1)} msg/s in · ${s.rate_out.toFixed(1)} out`;
  $('hookrate').textContent = s.webhook_success < 0 ? 'webhooks –' : `webhooks ${(s.webhook_success * 100).toFixed(1)}%`;
}
let refreshTimer = 0, refreshing = false, again = false;
function refreshSoon() { clearTimeout(refreshTimer); refreshTimer = setTimeout(refresh, 80); }
async function refresh() {
  if (!S.token) return;
  if (refreshing) { again = true; return; }
  refreshing = true;
  try {
    if (S.tab === 'chats') { await loadConversations(); await loadChat(); }
    else if (S.tab === 'users') await loadUsers();
    else if (S.tab === 'webhooks') await loadWebhooks();
    else if (S.tab === 'dashboard') await loadDashboard();
  } catch (e) {
    if (e.status !== 401) console.warn(e);
  } finally {
    refreshing = false;
    if (again) { again = false; refreshSoon(); }
  }
}
function showTab(tab) {
  S.tab = tab;
  for (const b of document.querySelectorAll('.tabs button')) {
    const on = b.dataset.tab === tab;
    b.setAttribute('aria-selected', on ? 'true' : 'false');
    b.tabIndex = on ? 0 : -1;
    $('tab-' + b.dataset.tab).hidden = !on;
  }
  if (location.hash.slice(1) !== tab) history.replaceState(null, '', '#' + tab);
  refresh();
}

// ---------- clock and network ----------
async function advance(seconds) {
  const r = await act(() => api('POST', '/sandbox/v1/clock/advance', { seconds }));
  if (r && r.now) { setClock(r.now); toast('Virtual clock: ' + fmtTime(r.now) + ' UTC'); }
}
async function loadNetwork() {
  try {
    const r = await api('GET', '/v1/health');
    const gs = r.health && r.health.gateway_status;
    S.network = gs === 'disconnected' ? 'down' : 'up';
    S.gateway = gs;
  } catch (e) { /* shown as last known */ }
  renderNetwork();
}
function renderNetwork() {
  const up = S.network === 'up';
  const b = $('net-toggle');
  b.textContent = up ? '● network up' : '○ network down';
  b.className = 'net ' + (up ? 'up' : 'down');
  b.setAttribute('aria-pressed', up ? 'true' : 'false');
  $('dash-net').textContent = up ? 'up (' + (S.gateway || 'connected') + ')' : 'down (disconnected)';
}
async function setNetwork(up) {
  const r = await act(() => api('POST', '/sandbox/v1/network/' + (up ? 'up' : 'down')));
  if (r) { S.network = r.network; S.gateway = r.gateway_status; renderNetwork(); }
}

// ---------- conversations ----------
function tickFor(m) {
  if (m.direction !== 'out') return null;
  const st = m.status;
  if (st === 'failed') {
    const code = m.error_code || m.errorCode;
    return h('span', { class: 'tick failed', 'data-status': 'failed', title: code ? `${code} ${m.error_title || ''}`.trim() : 'failed' }, '✗' + (code ? ' ' + code : ''));
  }
  const sym = { accepted: '🕓', sent: '✓', delivered: '✓✓', read: '✓✓' }[st] || st;
  return h('span', { class: 'tick ' + st, 'data-status': st, title: st }, sym);
}
async function loadConversations() {
  const r = await api('GET', '/ui/api/conversations');
  const ul = $('conv-list');
  ul.replaceChildren(...r.conversations.map((c) => h('li', {},
    h('button', { 'data-peer': c.peer, 'aria-current': c.peer === S.peer ? 'true' : 'false', onclick: () => selectPeer(c.peer) },
      h('span', { class: 'peer' }, fmtPhone(c.peer)),
      h('span', { class: 'when' }, hhmm(c.at)),
      h('span', { class: 'last' }, c.last_direction === 'in' ? '◀ ' : '', c.last_text),
      c.last_direction === 'out' ? tickFor({ direction: 'out', status: c.status, error_code: c.error_code }) : h('span')))));
  const empty = r.conversations.length === 0 && !S.peer;
  $('empty').hidden = !empty;
  $('chat-body').hidden = empty;
  if (empty) renderEmpty();
}
function renderEmpty() {
  const o = location.origin, u = '15551230001';
  const tok = '$TOKEN';
  $('empty').replaceChildren(
    h('h2', {}, 'No conversations yet'),
    h('p', {}, 'A simulated customer writes first — that opens the 24-hour window — then you answer through the API. Paste these into a terminal (the token is the one this page logged in with):'),
    h('pre', { id: 'empty-curl' }, `TOKEN='${S.token}'
curl -s -H "Authorization: Bearer ${tok}" -H 'Content-Type: application/json' \\
     -d '{"type":"text","text":{"body":"Hi! Is my order on its way?"}}' ${o}/sandbox/v1/users/${u}/messages
curl -s -H "Authorization: Bearer ${tok}" -H 'Content-Type: application/json' \\
     -d '{"to":"${u}","type":"text","text":{"body":"Yes, it *ships* today"}}' ${o}/v1/messages`),
    h('p', {}, 'The chat fills in as it runs: ✓ sent, ✓✓ delivered, blue ✓✓ read, and under each message the webhooks it caused.'),
    h('p', {}, h('button', { class: 'primary', onclick: () => { selectPeer(u); sendAs(u, { type: 'text', text: { body: 'Hi! Is my order on its way?' } }); } }, `Let ${fmtPhone(u)} write first`)),
  );
}
function selectPeer(peer) {
  if (S.peer !== peer) { S.peer = peer; S.user = null; S.chat = []; S.lastRendered = ''; }
  for (const b of document.querySelectorAll('#conv-list button')) b.setAttribute('aria-current', b.dataset.peer === peer ? 'true' : 'false');
  $('empty').hidden = true;
  $('chat-body').hidden = false;
  loadChat();
}

// ---------- the chat ----------
async function loadChat() {
  if (!S.peer) { $('chat-head').replaceChildren(h('h2', { class: 'muted' }, 'Pick a conversation, or open one with a number')); $('chat-body').replaceChildren(); renderPhone(); return; }
  const peer = S.peer;
  const [r, user] = await Promise.all([api('GET', '/ui/api/chat?peer=' + encodeURIComponent(peer)), api('GET', '/sandbox/v1/users/' + peer).catch(() => null)]);
  if (peer !== S.peer) return;
  S.chat = r.messages;
  S.user = user;
  const key = JSON.stringify(r.messages.map((m) => [m.id, m.status, m.webhooks.map((w) => [w.state, w.http_status, w.attempts])]));
  $('chat-head').replaceChildren(h('h2', {}, 'Chat with ' + fmtPhone(peer) + (user && user.name ? ' (' + user.name + ')' : '')));
  if (key !== S.lastRendered) {
    S.lastRendered = key;
    const body = $('chat-body');
    const atBottom = body.scrollHeight - body.scrollTop - body.clientHeight < 40;
    body.replaceChildren(...(r.messages.length ? r.messages.map(renderMessage) : [h('p', { class: 'muted sys' }, 'No messages with this number yet. Write as the customer on the right, or send from your app.')]));
    if (atBottom || !S.scrolled) { body.scrollTop = body.scrollHeight; S.scrolled = true; }
  }
  renderPhone();
}
function byID(id) { return S.chat.find((m) => m.id === id); }
function renderMessage(m) {
  const p = m.payload || {};
  if (m.type === 'system') return h('div', { class: 'sys', 'data-id': m.id }, (p.system && (p.system.body || p.system.type)) || 'system message');
  const bubble = h('div', { class: 'bubble' });
  if (p.context && p.context.id) {
    const q = byID(p.context.id);
    bubble.append(h('div', { class: 'quote' }, '↪ ' + (q ? preview(q) : 'a message')));
  }
  bubble.append(...renderContent(m.type, p, m.direction));
  bubble.append(h('span', { class: 'meta' }, hhmm(m.created_at), tickFor(m)));
  const hooks = h('div', { class: 'hooks' }, ...m.webhooks.map((w) => renderHook(w)));
  return h('div', { class: 'msg ' + m.direction, 'data-id': m.id, 'data-status': m.status, 'data-type': m.type }, bubble, m.webhooks.length ? hooks : null);
}
function preview(m) {
  const p = m.payload || {};
  if (m.type === 'text') return (p.text && p.text.body) || '';
  if (m.type === 'interactive') return (p.interactive && p.interactive.body && p.interactive.body.text) || 'interactive';
  if (m.type === 'template') return 'template ' + ((p.template && p.template.name) || '');
  return m.type;
}
function fmtDiv(text, cls) { return h('div', { class: cls || 'text', html: waFormat(text) }); }
function renderContent(type, p, dir) {
  const x = p[type] || {};
  switch (type) {
    case 'text': return [fmtDiv(x.body || '')];
    case 'image': case 'video': case 'document': case 'audio': case 'voice': case 'sticker': {
      const icon = { image: '🖼', video: '🎬', document: '📄', audio: '🎵', voice: '🎤', sticker: '🏷' }[type];
      const src = x.link || x.id || '';
      return [h('div', { class: 'media' }, h('span', { class: 'icon' }, icon),
        h('div', {}, h('div', { class: 'kind' }, type + (x.mime_type ? ' · ' + x.mime_type : '')), x.filename ? h('div', {}, x.filename) : null,
          src ? h('div', { class: 'muted' }, String(src).slice(0, 60)) : null)),
        x.caption ? fmtDiv(x.caption) : null];
    }
    case 'location': return [h('div', { class: 'media' }, h('span', { class: 'icon' }, '📍'),
      h('div', {}, x.name ? h('b', {}, x.name) : null, x.address ? h('div', {}, x.address) : null, h('div', { class: 'muted' }, `${x.latitude}, ${x.longitude}`)))];
    case 'contacts': return (p.contacts || []).map((c) => h('div', { class: 'contact' }, '👤 ', h('b', {}, (c.name && c.name.formatted_name) || 'contact'),
      ...(c.phones || []).map((ph) => h('div', { class: 'muted' }, (ph.type ? ph.type + ': ' : '') + ph.phone))));
    case 'template': {
      const t = p.template || {};
      const comps = t.components || [];
      const cat = p.waba_category ? ' · ' + p.waba_category.toLowerCase() : '';
      const out = [h('div', { class: 'kind' }, `template ${t.name || ''} · ${(t.language && t.language.code) || ''}${cat}`)];
      const r = p.waba_rendered;
      if (r) {
        // The text the customer sees, as the engine rendered it at accept time.
        if (r.header) out.push(h('div', { class: 'tmpl-header' }, h('b', {}, r.header)));
        else if (r.header_format) out.push(h('div', { class: 'muted' }, '[' + r.header_format.toLowerCase() + ']'));
        out.push(h('div', { class: 'tmpl-body' }, fmtDiv(r.body || '')));
        if (r.footer) out.push(h('div', { class: 'muted tmpl-footer' }, r.footer));
        if (r.buttons && r.buttons.length) out.push(h('div', { class: 'btns' }, ...r.buttons.map((b) => h('span', {}, b.text))));
        return out;
      }
      for (const c of comps) {
        const params = (c.parameters || []).map((q) => q.text || (q.currency && q.currency.fallback_value) || (q.date_time && q.date_time.fallback_value) || q.payload || q.type);
        if (c.type === 'button') out.push(h('div', { class: 'btns' }, h('span', {}, `${c.sub_type || 'button'} ${c.index ?? ''}: ${params.join(', ')}`)));
        else out.push(h('div', {}, h('span', { class: 'muted' }, c.type + ': '), params.join(' · ')));
      }
      if (!comps.length) out.push(h('div', { class: 'muted' }, 'no parameters'));
      return out;
    }
    case 'interactive': {
      const it = p.interactive || {};
      if (it.type === 'button_reply' || it.type === 'list_reply') {
        const r = it[it.type] || {};
        return [h('div', { class: 'kind' }, it.type === 'button_reply' ? 'button tapped' : 'list choice'), h('div', {}, r.title || r.id), r.description ? h('div', { class: 'muted' }, r.description) : null];
      }
      const out = [];
      if (it.header) out.push(h('b', {}, it.header.text || it.header.type));
      if (it.body) out.push(fmtDiv(it.body.text || ''));
      if (it.footer) out.push(h('div', { class: 'muted' }, it.footer.text));
      const a = it.action || {};
      if (a.buttons) out.push(h('div', { class: 'btns' }, ...a.buttons.map((b) => h('span', {}, (b.reply && b.reply.title) || b.type))));
      if (a.sections && it.type === 'list') {
        out.push(h('div', { class: 'btns' }, h('span', {}, '☰ ' + (a.button || 'Menu'))));
        out.push(h('div', { class: 'rows' }, ...a.sections.flatMap((s) => [s.title ? h('div', { class: 'sec' }, s.title) : null, ...(s.rows || []).map((r) => h('div', {}, '○ ' + r.title))])));
      } else if (a.sections) {
        out.push(h('div', { class: 'muted' }, `${it.type}: ${a.sections.length} section(s)`));
      }
      return out;
    }
    case 'button': return [h('div', { class: 'kind' }, 'template button'), h('div', {}, (x.text || '') + (x.payload ? ' (' + x.payload + ')' : ''))];
    case 'reaction': return [h('div', {}, (x.emoji || '∅') + ' reaction')];
    default: return [h('div', { class: 'muted' }, type + ' message')];
  }
}
function hookLabel(w) {
  const p = w.payload || {};
  let what = w.kind;
  if (w.kind === 'status') what = `statuses[${p.status || '?'}]`;
  else if (w.kind === 'message') what = 'messages[' + ((p.message && p.message.type) || p.type || 'message') + ']';
  let res;
  if (w.state === 'delivered') res = h('span', { class: 'ok' }, `→ ${w.http_status || 200}` + (w.tried ? ` in ${w.latency_ms} ms` : ''));
  else if (w.tried) res = h('span', { class: 'bad' }, `→ ${w.http_status || 'no answer'}, ${w.attempts} failed, retrying`);
  else res = h('span', {}, '→ pending');
  return [`webhook: ${what} `, res];
}
function renderHook(w) {
  const d = h('details', { 'data-hook': w.id, 'data-state': w.state, open: S.openHooks.has(w.id) },
    h('summary', {}, ...hookLabel(w)),
    h('pre', {}, JSON.stringify(w.payload, null, 2)),
    w.tried ? h('div', {}, 'endpoint answered: ' + (w.response || '(empty)')) : null,
    w.last_error ? h('div', { class: 'bad' }, 'last error: ' + w.last_error) : null);
  d.addEventListener('toggle', () => { if (d.open) S.openHooks.add(w.id); else S.openHooks.delete(w.id); });
  return d;
}

// ---------- the customer's phone ----------
async function sendAs(peer, msg) {
  return act(() => api('POST', '/sandbox/v1/users/' + peer + '/messages', msg));
}
function lastActionable() {
  for (let i = S.chat.length - 1; i >= 0; i--) {
    const m = S.chat[i];
    if (m.direction !== 'out') continue;
    if (m.type === 'interactive' || m.type === 'template') return m;
  }
  return null;
}
function renderPhone() {
  const ph = $('phone');
  const peer = S.peer;
  if (!peer) { ph.replaceChildren(h('p', { class: 'muted' }, 'The customer\'s phone appears here when a chat is open.')); return; }
  // Keep what is being typed across refreshes.
  const keep = $('phone-text') ? $('phone-text').value : '';
  const hadFocus = document.activeElement && document.activeElement.id === 'phone-text';
  const u = S.user || {};
  const blocked = (u.blocked || []).some((b) => b === '*' || b === S.business);
  const screen = h('div', { class: 'screen', id: 'phone-screen' });
  const last = lastActionable();
  if (last) {
    const p = last.payload || {};
    const ctx = { id: last.id };
    if (last.type === 'interactive') {
      const it = p.interactive || {};
      const a = it.action || {};
      screen.append(h('div', { class: 'last' }, it.body ? it.body.text : 'interactive message'));
      for (const b of a.buttons || []) {
        const r = b.reply || {};
        screen.append(h('button', { class: 'tap', 'data-reply': r.id, onclick: () => sendAs(peer, { type: 'interactive', context: ctx, interactive: { type: 'button_reply', button_reply: { id: r.id, title: r.title } } }) }, '↩ ' + r.title));
      }
      if (it.type === 'list') {
        for (const s of a.sections || []) {
          if (s.title) screen.append(h('h3', {}, s.title));
          for (const r of s.rows || []) {
            const lr = { id: r.id, title: r.title };
            if (r.description) lr.description = r.description;
            screen.append(h('button', { class: 'tap', 'data-row': r.id, onclick: () => sendAs(peer, { type: 'interactive', context: ctx, interactive: { type: 'list_reply', list_reply: lr } }) }, r.title, r.description ? h('small', {}, r.description) : null));
          }
        }
      }
    } else {
      const t = p.template || {};
      screen.append(h('div', { class: 'last' }, 'template ' + (t.name || '')));
      for (const c of t.components || []) {
        if (c.type !== 'button' || c.sub_type !== 'quick_reply') continue;
        for (const q of c.parameters || []) {
          const payload = q.payload || '';
          screen.append(h('button', { class: 'tap', 'data-payload': payload, onclick: () => sendAs(peer, { type: 'button', context: ctx, button: { payload, text: payload } }) }, '↩ ' + payload));
        }
      }
    }
  } else {
    screen.append(h('p', { class: 'muted' }, 'Buttons and list rows of your last interactive message appear here to tap.'));
  }
  const input = h('input', { id: 'phone-text', placeholder: 'Type a reply as the customer…', 'aria-label': 'reply as the customer', autocomplete: 'off' });
  input.value = keep;
  const form = h('form', { id: 'phone-form', onsubmit: async (ev) => {
    ev.preventDefault();
    const text = $('phone-text').value.trim();
    if (!text) return;
    const msg = { type: 'text', text: { body: text } };
    const r = await sendAs(peer, msg);
    if (r) $('phone-text').value = '';
  } }, input, h('button', { type: 'submit', class: 'primary small', id: 'phone-send' }, 'Send'));
  const actions = h('div', { class: 'actions' },
    h('button', { class: 'small', title: 'share a location', onclick: () => sendAs(peer, { type: 'location', location: { latitude: 52.52, longitude: 13.405, name: 'Home', address: 'Alexanderplatz 1, Berlin' } }) }, '📍 Location'),
    h('button', { class: 'small', title: 'send a photo', onclick: () => sendAs(peer, { type: 'image', image: { caption: 'A photo' } }) }, '🖼 Photo'),
    h('button', { class: 'small', title: 'send a document', onclick: () => sendAs(peer, { type: 'document', document: { filename: 'invoice.pdf', caption: 'My invoice' } }) }, '📄 Document'),
    h('button', { class: 'small', title: 'share a contact', onclick: () => sendAs(peer, { type: 'contacts', contacts: [{ name: { formatted_name: 'Bob Smith', first_name: 'Bob' }, phones: [{ phone: '+1 555 123 0002', type: 'CELL', wa_id: '15551230002' }] }] }) }, '👤 Contact'));
  const online = u.online !== false;
  const state = h('div', { class: 'actions' },
    h('button', { class: 'small', id: 'phone-online', onclick: () => act(() => api('POST', `/sandbox/v1/users/${peer}/${online ? 'offline' : 'online'}`), online ? 'The phone is offline' : 'The phone is online') }, online ? '📴 Go offline' : '📶 Go online'),
    h('button', { class: 'small', id: 'phone-block', onclick: () => act(() => api('PUT', '/sandbox/v1/users/' + peer, { blocked: blocked ? [] : ['*'] }), blocked ? 'Unblocked' : 'The business is blocked') }, blocked ? 'Unblock business' : '🚫 Block business'));
  ph.replaceChildren(h('div', { class: 'frame' },
    h('div', { class: 'bar' }, fmtPhone(S.business), h('small', {}, `${u.name || fmtPhone(peer)}'s phone · ${online ? 'online' : 'offline'}${blocked ? ' · blocked you' : ''}`)),
    screen),
  form, actions, state,
  h('p', { class: 'muted' }, 'Everything sent here reaches your webhook as the real network would send it.'));
  if (hadFocus) { input.focus(); input.setSelectionRange(keep.length, keep.length); }
}

// ---------- users ----------
async function loadUsers() {
  const [r, magic] = await Promise.all([api('GET', '/sandbox/v1/users'), S.magic ? Promise.resolve(S.magic) : api('GET', '/sandbox/v1/magic-numbers')]);
  S.magic = magic;
  const users = r.users || [];
  $('users-table').replaceChildren(h('tr', {}, ...['Number', 'Name', 'Online', 'App', 'Reply', 'Blocked', 'Receipts'].map((t) => h('th', {}, t))),
    ...(users.length ? users.map((u) => h('tr', { class: 'click', tabindex: 0, onclick: () => editUser(u), onkeydown: (e) => { if (e.key === 'Enter') editUser(u); } },
      h('td', {}, fmtPhone(u.wa_id)), h('td', {}, u.name || ''), h('td', {}, u.online ? 'yes' : 'no'), h('td', {}, `${u.platform || ''} ${u.app_version || ''}`),
      h('td', {}, u.reply || ''), h('td', {}, (u.blocked || []).join(', ')), h('td', {}, u.read_receipts ? 'on' : 'off')))
      : [h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'No configured users: every number behaves as a healthy user.'))]));
  $('magic-table').replaceChildren(h('tr', {}, h('th', {}, 'Number'), h('th', {}, 'Name'), h('th', {}, 'Outcome')),
    ...(magic.magic_numbers || []).map((m) => h('tr', {}, h('td', {}, fmtPhone(m.number)), h('td', {}, m.name), h('td', {}, m.outcome))));
}
function editUser(u) {
  $('user-waid').value = u.wa_id;
  const copy = Object.assign({}, u);
  delete copy.wa_id; delete copy.magic;
  $('user-json').value = JSON.stringify(copy, null, 2);
  $('user-json').focus();
}
async function saveUser(ev) {
  ev.preventDefault();
  let body;
  try { body = JSON.parse($('user-json').value || '{}'); } catch (e) { $('user-msg').textContent = 'Not valid JSON: ' + e.message; return; }
  const id = $('user-waid').value.replace(/[^0-9]/g, '');
  const r = await act(() => api('PUT', '/sandbox/v1/users/' + id, body), 'Saved ' + fmtPhone(id));
  $('user-msg').textContent = r ? 'Saved.' : '';
}

// ---------- webhooks ----------
async function loadWebhooks() {
  const [settings, at, hooks] = await Promise.all([
    S.settingsLoaded ? null : api('GET', '/v1/settings/application'),
    api('GET', '/sandbox/v1/attempts?limit=100'),
    api('GET', '/sandbox/v1/webhooks?limit=100')]);
  if (settings) {
    const app = (settings.settings && settings.settings.application) || {};
    $('hook-url').value = (app.webhooks && app.webhooks.url) || '';
    $('hook-sent').checked = !!app.sent_status;
    S.settingsLoaded = true;
  }
  $('hook-pending').textContent = `${hooks.pending} pending`;
  $('attempts-table').replaceChildren(h('tr', {}, ...['Time', 'Endpoint', 'Status', 'Latency', 'Webhooks', 'Body', ''].map((t) => h('th', {}, t))),
    ...(at.attempts.length ? at.attempts.map((a) => h('tr', { 'data-attempt': a.id },
      h('td', {}, fmtTime(a.at)), h('td', {}, a.url),
      h('td', { class: a.status === 200 ? 'ok' : 'error' }, a.status ? String(a.status) : 'no answer'),
      h('td', {}, a.latency_ms + ' ms'), h('td', {}, (a.webhook_ids || []).join(', ')),
      h('td', {}, h('details', {}, h('summary', {}, 'request' + (a.error ? ' · ' + a.error : '')), h('pre', {}, a.request), a.response ? h('pre', {}, a.response) : null)),
      h('td', {}, h('button', { class: 'small', onclick: () => act(() => api('POST', '/sandbox/v1/webhooks/redeliver', { ids: a.webhook_ids }), 'Scheduled again') }, 'Redeliver'))))
      : [h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'No attempts yet: set an endpoint URL above; webhooks wait in the outbox until it answers 200.'))]));
  $('outbox-table').replaceChildren(h('tr', {}, ...['Id', 'Message', 'Kind', 'State', 'Failed attempts', 'Last error', 'Payload', ''].map((t) => h('th', {}, t))),
    ...hooks.webhooks.map((w) => h('tr', { 'data-webhook': w.id },
      h('td', {}, String(w.id)), h('td', {}, w.message_id || ''), h('td', {}, w.kind), h('td', {}, w.state), h('td', {}, String(w.attempts)),
      h('td', {}, w.last_error || ''), h('td', {}, h('details', {}, h('summary', {}, 'body'), h('pre', {}, JSON.stringify(w.payload, null, 2)))),
      h('td', {}, h('button', { class: 'small', onclick: () => act(() => api('POST', '/sandbox/v1/webhooks/redeliver', { ids: [w.id] }), 'Scheduled again') }, 'Redeliver')))));
}
async function saveHookURL(ev) {
  ev.preventDefault();
  const url = $('hook-url').value.trim();
  const r = await act(() => api('PATCH', '/v1/settings/application', { webhooks: { url }, sent_status: $('hook-sent').checked }), 'Webhook endpoint saved');
  $('hook-url-msg').textContent = r ? 'Saved.' : '';
}

// ---------- dashboard ----------
function parseMetrics(text) {
  const out = [];
  for (const line of String(text).split('\n')) {
    if (!line.startsWith('waba_')) continue;
    const m = line.match(/^([a-z_]+)(\{[^}]*\})?\s+([0-9.eE+-]+|NaN)/);
    if (m) out.push({ name: m[1], labels: m[2] || '', value: Number(m[3]) });
  }
  return out;
}
async function loadDashboard() {
  renderDashCards();
  renderClock();
  loadNetwork();
  const text = await api('GET', '/metrics');
  const ms = parseMetrics(text).filter((m) => !m.name.endsWith('_bucket'));
  S.metrics = ms;
  renderDashCards();
  $('metrics-table').replaceChildren(h('tr', {}, h('th', {}, 'Metric'), h('th', {}, 'Labels'), h('th', {}, 'Value')),
    ...ms.map((m) => h('tr', {}, h('td', {}, m.name), h('td', {}, m.labels), h('td', {}, String(m.value)))));
}
function renderDashCards() {
  const s = S.stats || {};
  const ms = S.metrics || [];
  const sum = (name, label) => ms.filter((m) => m.name === name && (!label || m.labels.includes(label))).reduce((a, m) => a + m.value, 0);
  const card = (v, label, id) => h('div', { class: 'c', id }, h('b', {}, v), h('span', {}, label));
  const cards = [
    card((s.rate_in ?? 0).toFixed(1), 'msg/s in', 'dash-rate-in'),
    card((s.rate_out ?? 0).toFixed(1), 'msg/s out', 'dash-rate-out'),
    card(s.in ?? '–', 'messages received'),
    card(s.out ?? '–', 'messages sent'),
    card(s.webhook_success === undefined || s.webhook_success < 0 ? '–' : (s.webhook_success * 100).toFixed(1) + '%', 'webhook success (newest 200 attempts)'),
    card(s.attempts ? s.webhook_latency_ms.toFixed(1) + ' ms' : '–', 'mean webhook latency'),
    card(s.webhooks_pending ?? '–', 'webhooks pending'),
    card(s.webhooks_delivered ?? '–', 'webhooks delivered'),
  ];
  for (const st of ['sent', 'delivered', 'read', 'failed']) cards.push(card(sum('waba_messages_status_total', `status="${st}"`), `${st} (since start)`));
  cards.push(card(S.shards ?? '–', `dispatch shards on ${S.nodes ?? 1} node (this one owns all)`, 'dash-shards'));
  for (const q of ms.filter((m) => m.name.endsWith('_queue_depth'))) cards.push(card(q.value, q.name.replace(/^waba_|_queue_depth$/g, '') + ' queue depth'));
  $('dash-cards').replaceChildren(...cards);
}

// ---------- wiring ----------
function init() {
  $('login-form').addEventListener('submit', login);
  $('logout').addEventListener('click', () => logout());
  for (const b of document.querySelectorAll('.tabs button')) b.addEventListener('click', () => showTab(b.dataset.tab));
  $('tabbtn-chats').parentElement.addEventListener('keydown', (e) => {
    if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
    const bs = [...document.querySelectorAll('.tabs button')];
    const i = bs.findIndex((b) => b.dataset.tab === S.tab);
    const n = bs[(i + (e.key === 'ArrowRight' ? 1 : bs.length - 1)) % bs.length];
    showTab(n.dataset.tab); n.focus();
  });
  $('adv-1h').addEventListener('click', () => advance(3600));
  $('adv-24h').addEventListener('click', () => advance(86400));
  $('dash-adv-1h').addEventListener('click', () => advance(3600));
  $('dash-adv-24h').addEventListener('click', () => advance(86400));
  $('dash-adv-7d').addEventListener('click', () => advance(7 * 86400));
  $('dash-adv-30d').addEventListener('click', () => advance(30 * 86400));
  $('net-toggle').addEventListener('click', () => setNetwork(S.network !== 'up'));
  $('dash-net-up').addEventListener('click', () => setNetwork(true));
  $('dash-net-down').addEventListener('click', () => setNetwork(false));
  $('newchat').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const n = $('newchat-num').value.replace(/[^0-9]/g, '');
    if (n.length < 6) { toast('Type a phone number in international format', true); return; }
    $('newchat-num').value = '';
    selectPeer(n);
    $('phone-text') && $('phone-text').focus();
  });
  $('user-form').addEventListener('submit', saveUser);
  $('user-load').addEventListener('click', async () => {
    const id = $('user-waid').value.replace(/[^0-9]/g, '');
    if (id) { const u = await act(() => api('GET', '/sandbox/v1/users/' + id)); if (u) editUser(u); }
  });
  $('user-delete').addEventListener('click', () => {
    const id = $('user-waid').value.replace(/[^0-9]/g, '');
    if (id) act(() => api('DELETE', '/sandbox/v1/users/' + id), 'Back to the default');
  });
  $('hook-url-form').addEventListener('submit', saveHookURL);
  $('redeliver-pending').addEventListener('click', () => act(() => api('POST', '/sandbox/v1/webhooks/redeliver', { all_pending: true }), 'Retrying every pending webhook now'));
  setInterval(renderClock, 1000);
  if (S.token) start(); else { $('login').hidden = false; $('login-pass').focus(); }
}
init();
