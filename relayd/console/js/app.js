// The console's shell: one session, one socket, one device store, and a hash router that draws
// a view into <main>. Each views/*.js module exports `views`: a list of
//   {path: '/devices/:id/video', title, auth: true, tab: 'video', label: 'Video', role: 'viewer',
//    render(ctx) → optional cleanup function (or a promise of one)}
// `tab` views are a device's tabs: the shell draws the device's header and tab bar around them.
// ctx: {params, query (URLSearchParams), session, socket, devices, root (the element to fill),
//       device (tab views: the device as device_store knows it), navigate(path),
//       log (event_log.js: each device's events since the page opened)}.
import { session as session_class } from './api.js';
import { app_socket } from './socket.js';
import { device_store } from './devices.js';
import { event_log } from './event_log.js';
import { h, replace, notice } from './ui.js';
import * as account from './views/account.js';
import * as devices_view from './views/devices.js';
import * as sharing from './views/sharing.js';
import * as events from './views/events.js';
import * as command from './views/command.js';
import * as tunnel from './views/tunnel.js';
import * as video from './views/video.js';

const session = new session_class();
const socket = new app_socket(session);
const devices = new device_store(session, socket);
const log = new event_log(socket);
const all_views = [account, devices_view, events, command, tunnel, video, sharing].flatMap((m) => m.views);
const device_tabs = all_views.filter((v) => v.tab);
const role_rank = { viewer: 1, operator: 2, owner: 3 };

let cleanup = null;
let rendering = 0;
let header_cleanup = null; // stops the device header's live redraw
let carried = null; // [text, kind]: a notice for the page navigate() goes to

/**
 * Goes to a console path ('/devices/x'); the hash keeps it across reloads. `message` ([text,
 * kind], as notice() takes them) is shown on that page: "robot removed", a sign-out's reason.
 */
export function navigate(path, message = null) {
  carried = message;
  if (location.hash === `#${path}`) route();
  else location.hash = path;
}

function match(pattern, path) {
  const p = pattern.split('/');
  const q = path.split('/');
  if (p.length !== q.length) return null;
  const params = {};
  for (let i = 0; i < p.length; i++) {
    if (p[i].startsWith(':')) {
      if (!q[i]) return null;
      try { params[p[i].slice(1)] = decodeURIComponent(q[i]); } catch { return null; }
    } else if (p[i] !== q[i]) {
      return null;
    }
  }
  return params;
}

function draw_nav() {
  const nav = document.getElementById('nav');
  if (!session.signed_in) {
    replace(nav, h('a', { href: '#/login' }, 'Sign in'), h('a', { href: '#/register' }, 'Register'));
    return;
  }
  replace(nav, h('a', { href: '#/devices' }, 'Robots'), h('a', { href: '#/account' }, 'Account'),
          h('button', { type: 'button', id: 'sign-out', onclick: () => session.logout() }, 'Sign out'));
}

function device_header(device, current) {
  const rank = role_rank[device.role] ?? 0;
  const base = `#/devices/${encodeURIComponent(device.device_id)}`;
  return [
    h('h1', {}, h('span', { class: 'dot', dataset: { online: String(!!device.online) },
                            title: device.online ? 'online' : 'offline' }), ' ', device.name,
      h('span', { class: 'muted' }, ` · ${device.device_id} · ${device.online ? 'online' : 'offline'} · ${device.role}`)),
    h('nav', { class: 'tabs', 'aria-label': 'Robot' },
      device_tabs.filter((v) => rank >= (role_rank[v.role ?? 'viewer'] ?? 1)).map((v) => h('a', {
        href: v.tab === 'overview' ? base : `${base}/${v.tab}`,
        'aria-current': v.tab === current ? 'page' : false,
      }, v.label ?? v.tab))),
  ];
}

/** Draws the page of the location's hash; a view that throws leaves an error notice, not an uncaught error. */
function route() {
  const ticket = rendering + 1;
  draw_route().catch((error) => {
    console.warn('view failed', error);
    if (ticket === rendering) notice(`This page could not be shown: ${error.message ?? error}`);
  });
}

async function draw_route() {
  const ticket = ++rendering;
  if (cleanup) {
    try { cleanup(); } catch (error) { console.warn('view cleanup failed', error); }
    cleanup = null;
  }
  header_cleanup?.();
  header_cleanup = null;
  const message = carried;
  carried = null;
  notice(...(message ?? [null]));
  const raw = location.hash.replace(/^#/, '') || '/devices';
  const [path, query_string = ''] = raw.split('?');
  let view = null;
  let params = null;
  for (const v of all_views) {
    params = match(v.path, path);
    if (params) { view = v; break; }
  }
  const main = document.getElementById('view');
  draw_nav();
  if (!view) {
    replace(main, h('h1', {}, 'Not found'), h('p', {}, 'This console page does not exist. ', h('a', { href: '#/devices' }, 'Your robots')));
    return;
  }
  if (view.auth !== false && !session.signed_in) {
    navigate(`/login?next=${encodeURIComponent(raw)}`, message); // what brought us here goes along
    return;
  }
  document.title = `${view.title ?? 'Relay'} · Relay console`;
  const ctx = { params, query: new URLSearchParams(query_string), session, socket, devices, log, navigate, root: main };
  if (view.tab) {
    if (!devices.loaded) {
      try { await devices.load(); } catch (error) { notice(error.message); }
      if (ticket !== rendering) return;
    }
    const device = devices.get(params.id);
    if (!device) {
      replace(main, h('h1', {}, 'No such robot'), h('p', {}, 'It does not exist or you have no access to it. ',
                                                  h('a', { href: '#/devices' }, 'Your robots')));
      return;
    }
    const body = h('section', { class: 'tab-body' });
    let [title, tabs] = device_header(device, view.tab);
    replace(main, title, tabs, body);
    ctx.root = body;
    ctx.device = device;
    // The header follows the device: online/offline live, a new name.
    const redraw = () => {
      const now = devices.get(params.id);
      if (!now) return;
      const [fresh] = device_header(now, view.tab);
      title.replaceWith(fresh);
      title = fresh;
    };
    devices.addEventListener('change', redraw);
    header_cleanup = () => devices.removeEventListener('change', redraw);
  } else {
    replace(main);
  }
  const result = await view.render(ctx);
  if (ticket !== rendering) {
    if (typeof result === 'function') result();
    return;
  }
  cleanup = typeof result === 'function' ? result : null;
  main.focus({ preventScroll: true });
}

function show_link(state) {
  const link = document.getElementById('link');
  link.dataset.state = state;
  link.textContent = session.signed_in ? { open: 'live', connecting: 'connecting…', closed: 'offline' }[state] : '';
}

async function start() {
  socket.addEventListener('state', (e) => show_link(e.detail.state));
  session.addEventListener('change', (e) => {
    if (session.signed_in) {
      socket.start();
      devices.load().catch((error) => notice(error.message));
    } else {
      socket.stop();
      devices.clear();
      log.clear();
      command.forget_commands();
      navigate('/login', e.detail?.reason ? [e.detail.reason, 'info'] : null);
    }
    draw_nav();
    show_link(socket.state);
  });
  addEventListener('hashchange', route);
  try {
    await session.restore();
  } catch (error) {
    // The login is kept (a busy or unreachable relay is no sign-out); the words go to the page
    // route() draws, the sign-in form included, and a reload tries again.
    carried = [error.message, 'error'];
  }
  route();
}

start();
