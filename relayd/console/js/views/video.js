// A robot's Video tab (any role: viewers may watch): start and stop a live view (js/webrtc.js),
// whether it is direct or relayed through TURN, its bitrate, frame rate and round-trip time, its
// renewals, and the robot's session history (GET /api/devices/{id}/sessions).
import { h, replace, when } from '../ui.js';
import { describe_error } from '../errors.js';
import { live_view } from '../webrtc.js';

function duration(seconds) {
  if (seconds === null || seconds === undefined) return '';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

function path_words(type) {
  if (!type) return '';
  return type === 'relay' ? 'relayed (TURN)' : `direct (${type})`;
}

function bitrate_words(bps) {
  if (bps === null || bps === undefined) return '…';
  return bps >= 1e6 ? `${(bps / 1e6).toFixed(2)} Mbit/s` : `${Math.round(bps / 1000)} kbit/s`;
}

const columns = ['Started', 'Duration', 'Path', 'RTT', 'Ended', 'Viewer'];

/** A history cell; `data-label` names its column where a phone shows rows as cards. */
function cell(column, attributes, text) {
  return h('td', { ...attributes, dataset: { ...attributes.dataset, label: columns[column] } }, text);
}

function render(ctx) {
  const { device, session, socket } = ctx;
  const device_id = device.device_id;
  let view = null;
  let left = false; // the tab was left: the page below is gone

  const video = h('video', { autoplay: '', muted: '', playsinline: '', class: 'video-screen',
                             'aria-label': `Live video of ${device.name}` });
  video.muted = true; // the attribute alone does not mute a video given a stream later
  const start_button = h('button', { type: 'button', id: 'video-start', onclick: () => start() }, 'Start');
  const stop_button = h('button', { type: 'button', id: 'video-stop', class: 'secondary', disabled: true,
                                    onclick: () => view?.stop('stopped', 'Stopped.') }, 'Stop');
  const relay_only = h('input', { type: 'checkbox', name: 'relay_only', id: 'video-relay-only' });
  const status = h('p', { class: 'video-status', role: 'status', 'aria-live': 'polite', dataset: { state: 'idle' } },
                   device.online ? 'Not started.' : 'Not started. The robot is offline right now.');
  const renewal_note = h('p', { class: 'video-renewal muted', 'aria-live': 'polite' });

  const cells = {};
  const stat_rows = [['path', 'Path'], ['candidates', 'Candidates (here / robot)'], ['bitrate', 'Bitrate'],
                     ['fps', 'Frames per second'], ['frames', 'Frames decoded'], ['size', 'Resolution'],
                     ['rtt', 'Round-trip time'], ['renewals', 'Renewals'], ['next_renewal', 'Next renewal'],
                     ['session', 'Session']];
  const stats = h('dl', { class: 'video-stats', 'aria-label': 'Video statistics' },
                  stat_rows.map(([key, label]) => [h('dt', {}, label), cells[key] = h('dd', { dataset: { stat: key } }, '–')]));

  const history_body = h('div', { class: 'video-history' });
  const refresh_button = h('button', { type: 'button', class: 'secondary', id: 'video-history-refresh',
                                       onclick: () => load_history() }, 'Refresh');

  replace(ctx.root,
    h('div', { class: 'row video-controls' }, start_button, stop_button,
      h('label', { class: 'check' }, relay_only, 'Relay only (TURN)')),
    status,
    h('div', { class: 'video-layout' },
      h('div', { class: 'video-frame' }, video),
      h('div', { class: 'video-side' }, stats, renewal_note)),
    h('div', { class: 'row video-history-head' }, h('h2', {}, 'Session history'), refresh_button),
    history_body);

  function set_status(state, text) {
    status.dataset.state = state;
    status.textContent = { connecting: text, live: 'Live.', ended: `Ended: ${text}` }[state] ?? text;
  }

  function show_stats(s) {
    cells.path.textContent = s.path ?? 'not connected yet';
    cells.path.dataset.type = s.connection_type ?? '';
    cells.candidates.textContent = s.local_type ? `${s.local_type} / ${s.remote_type}` : '–';
    cells.bitrate.textContent = bitrate_words(s.bitrate_bps);
    cells.fps.textContent = s.fps === null ? '–' : String(Math.round(s.fps));
    cells.frames.textContent = String(s.frames_decoded);
    cells.size.textContent = s.width ? `${s.width} × ${s.height}` : '–';
    cells.rtt.textContent = s.rtt_ms === null ? '–' : `${s.rtt_ms.toFixed(1)} ms`;
    cells.renewals.textContent = String(s.renewals);
    cells.next_renewal.textContent = s.renew_at ? new Date(s.renew_at).toLocaleTimeString() : s.renewing ? 'now' : '–';
    cells.session.textContent = s.session_id;
  }

  async function start() {
    if (view?.active) return;
    view = new live_view(socket, device_id, { relay_only: relay_only.checked });
    const this_view = view;
    start_button.disabled = true;
    stop_button.disabled = false;
    relay_only.disabled = true;
    renewal_note.textContent = '';
    for (const cell of Object.values(cells)) cell.textContent = '–';
    this_view.addEventListener('state', (e) => {
      if (this_view !== view || left) return;
      set_status(e.detail.state, e.detail.text);
      if (e.detail.state === 'live') load_history();
      if (e.detail.state === 'ended') {
        start_button.disabled = false;
        stop_button.disabled = true;
        relay_only.disabled = false;
        video.srcObject = null;
        cells.next_renewal.textContent = '–';
        load_history(e.detail.session_ids);
        start_button.focus({ preventScroll: true });
      }
    });
    this_view.addEventListener('stream', (e) => {
      if (video.srcObject !== e.detail.stream) video.srcObject = e.detail.stream;
    });
    this_view.addEventListener('stats', (e) => show_stats(e.detail));
    this_view.addEventListener('renewal', (e) => {
      cells.renewals.textContent = String(e.detail.count);
      renewal_note.textContent = e.detail.text ?? `Renewed ${e.detail.count} time${e.detail.count === 1 ? '' : 's'} ` +
        'with fresh TURN credentials; the video did not stop.';
      if (!e.detail.text) {
        cells.session.textContent = e.detail.session_id;
        load_history([e.detail.replaced]);
      }
    });
    await this_view.start();
    if (this_view === view && this_view.active) stop_button.focus({ preventScroll: true });
  }

  let history_ticket = 0;
  /**
   * Reads the history. The relay writes it a moment after the signalling it records, so after a
   * view ended (`ended`: its session ids) it reads again, a few times, until they show as ended.
   */
  async function load_history(ended = []) {
    const ticket = ++history_ticket;
    let rows;
    for (let attempt = 0; ; attempt++) {
      try {
        rows = await session.request('GET', `/api/devices/${encodeURIComponent(device_id)}/sessions`);
      } catch (error) {
        if (ticket === history_ticket) replace(history_body, h('p', { class: 'error' }, describe_error(error.code, error.message)));
        return;
      }
      if (ticket !== history_ticket) return;
      const settled = ended.every((id) => rows.some((r) => r.session_id === id && !r.live));
      if (settled || attempt >= 8) break;
      await new Promise((resolve) => setTimeout(resolve, 250 * (attempt + 1)));
      if (ticket !== history_ticket) return;
    }
    if (!rows.length) {
      replace(history_body, h('p', { class: 'muted' }, 'No video sessions yet.'));
      return;
    }
    replace(history_body, h('div', { class: 'table-scroll' }, h('table', {},
      h('thead', {}, h('tr', {}, columns.map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows.map((r) => h('tr', { dataset: { session: r.session_id } },
        cell(0, {}, when(r.started_at)),
        cell(1, {}, r.live ? `${duration(Date.now() / 1000 - (r.connected_at ?? r.started_at))} so far` : duration(r.duration_s)),
        cell(2, { dataset: { type: r.connection_type ?? '' } },
          r.connection_type ? path_words(r.connection_type) : r.live ? 'connecting' : 'never connected'),
        cell(3, {}, r.rtt_ms === null || r.rtt_ms === undefined ? '' : `${Math.round(r.rtt_ms * 10) / 10} ms`),
        cell(4, { dataset: { reason: r.end_reason ?? '' } }, r.live ? 'live' : (r.end_reason ?? '')),
        cell(5, { class: 'muted' }, r.user_id)))))));
  }

  load_history();
  // Leaving the tab (or signing out, which leaves it) ends the video.
  return () => {
    left = true;
    history_ticket += 1;
    view?.stop('left_view', 'Left the video tab.');
    video.srcObject = null;
  };
}

export const views = [
  { path: '/devices/:id/video', title: 'Video', tab: 'video', label: 'Video', role: 'viewer', render },
];
