// A robot's Events tab: its feed, newest first, from the page's event log (event_log.js), so
// what arrived while the tab was closed is here too. Filter by event name, pause (the list
// holds still and counts what arrives; resume shows it), raw JSON per entry or of all shown.
// Markers say where events were lost and where the feed reconnected without loss.
import { h, replace } from '../ui.js';

/** "12:04:05.123" in the reader's locale, the full time as a title. */
function clock(ts) {
  const date = new Date(ts);
  if (Number.isNaN(date.getTime())) return h('time', {}, String(ts ?? ''));
  const ms = String(date.getMilliseconds()).padStart(3, '0');
  return h('time', { datetime: date.toISOString(), title: date.toLocaleString() },
           `${date.toLocaleTimeString([], { hour12: false })}.${ms}`);
}

/** A short one-line view of an event's data. */
function summary(data) {
  if (data === undefined) return '';
  const text = JSON.stringify(data);
  return text.length > 120 ? `${text.slice(0, 119)}…` : text;
}

function range(from, to) {
  return from === to ? `Event ${from} is` : `Events ${from}–${to} are`;
}

/** One entry's list item. */
function entry_item(entry) {
  if (entry.kind === 'lost') {
    return h('li', { class: 'entry marker', dataset: { kind: 'lost', from: String(entry.from_seq), to: String(entry.to_seq) } },
      h('strong', {}, `${range(entry.from_seq, entry.to_seq)} lost: ${entry.reason}.`),
      ' ', h('span', { class: 'muted' }, entry.to_seq === entry.from_seq ? 'One event the feed will not have.'
        : `${entry.to_seq - entry.from_seq + 1} events the feed will not have.`));
  }
  if (entry.kind === 'resumed') {
    const caught = entry.to_seq > entry.after_seq
      ? `events ${entry.after_seq + 1}–${entry.to_seq} caught up` : 'nothing was missed';
    return h('li', { class: 'entry marker', dataset: { kind: 'resumed' } },
      clock(entry.at), ' ', h('strong', {}, 'Reconnected: resumed without loss'), ` (${caught}).`);
  }
  const details = h('details', {}, h('summary', {}, 'JSON'), h('pre', { class: 'raw' }, JSON.stringify(entry.message, null, 2)));
  if (entry.kind === 'presence') {
    const connected = entry.event === 'robot_connected';
    return h('li', { class: 'entry', dataset: { kind: 'presence', event: entry.event } },
      h('div', { class: 'entry-head' }, clock(entry.ts), ' ',
        h('span', { class: 'presence' }, connected ? 'Robot connected' : 'Robot disconnected'),
        ' ', h('span', { class: 'muted' }, entry.event)),
      details);
  }
  return h('li', { class: 'entry', dataset: { kind: 'event', seq: String(entry.seq), event: entry.event } },
    h('div', { class: 'entry-head' }, clock(entry.ts), ' ', h('span', { class: 'name' }, entry.event), ' ',
      h('span', { class: 'seq' }, `#${entry.seq}`)),
    entry.data === undefined ? null : h('div', { class: 'summary' }, summary(entry.data)),
    details);
}

function render(ctx) {
  const device_id = ctx.device.device_id;
  const log = ctx.log;
  const nodes = new Map(); // entry id → its <li>, kept so open details stay open
  let paused_at = null;    // log.added() when paused
  let timer = null;

  const filter = h('input', { type: 'search', name: 'event-filter', list: 'event-names', autocomplete: 'off',
                              placeholder: 'all events' });
  const names = h('datalist', { id: 'event-names' });
  const pause = h('button', { type: 'button', class: 'secondary', name: 'pause', 'aria-pressed': 'false' }, 'Pause');
  const raw_toggle = h('button', { type: 'button', class: 'secondary', name: 'raw-all', 'aria-expanded': 'false',
                                   'aria-controls': 'raw-all' }, 'Raw JSON of all shown');
  const raw_all = h('pre', { id: 'raw-all', class: 'raw', hidden: true, tabindex: '0', 'aria-label': 'Raw JSON of all shown events' });
  const status = h('p', { class: 'feed-status muted', role: 'status', 'aria-live': 'polite' });
  const list = h('ol', { class: 'feed', 'aria-label': 'Events, newest first' });
  const empty = h('p', { class: 'muted feed-empty' }, 'No events yet: what the robot sends appears here as it arrives.');

  function visible() {
    const wanted = filter.value.trim().toLowerCase();
    const all = log.entries(device_id);
    const shown = [];
    for (let i = all.length - 1; i >= 0; i--) {
      const x = all[i];
      if (!wanted || x.kind === 'lost' || x.kind === 'resumed' || x.event.toLowerCase().includes(wanted)) shown.push(x);
    }
    return { all, shown };
  }

  function draw() {
    timer = null;
    const { all, shown } = visible();
    if (paused_at !== null) {
      const n = log.added(device_id) - paused_at;
      status.textContent = `Paused: ${n} new ${n === 1 ? 'entry' : 'entries'} since. Resume to see them.`;
      pause.textContent = n > 0 ? `Resume (${n} new)` : 'Resume';
      return;
    }
    const ids = new Set(shown.map((x) => x.id));
    for (const [id, node] of nodes) if (!ids.has(id)) { node.remove(); nodes.delete(id); }
    // Insert what is new where it belongs; nodes already in place are not moved.
    let cursor = list.firstChild;
    for (const x of shown) {
      let node = nodes.get(x.id);
      if (!node) { node = entry_item(x); nodes.set(x.id, node); }
      if (node === cursor) { cursor = cursor.nextSibling; continue; }
      list.insertBefore(node, cursor);
    }
    const events = all.filter((x) => x.kind === 'event' || x.kind === 'presence').length;
    const shown_events = shown.filter((x) => x.kind === 'event' || x.kind === 'presence').length;
    status.textContent = filter.value.trim()
      ? `Showing ${shown_events} of ${events} events.` : `${events} ${events === 1 ? 'event' : 'events'}, live.`;
    empty.hidden = all.length > 0;
    replace(names, log.names(device_id).map((n) => h('option', { value: n })));
    if (!raw_all.hidden) {
      raw_all.textContent = JSON.stringify(shown.filter((x) => x.message).map((x) => x.message), null, 2);
    }
  }

  function later() {
    if (timer === null) timer = setTimeout(draw, 40);
  }

  filter.addEventListener('input', () => draw());
  pause.addEventListener('click', () => {
    if (paused_at === null) {
      paused_at = log.added(device_id);
      pause.setAttribute('aria-pressed', 'true');
    } else {
      paused_at = null;
      pause.setAttribute('aria-pressed', 'false');
      pause.textContent = 'Pause';
    }
    draw();
  });
  raw_toggle.addEventListener('click', () => {
    raw_all.hidden = !raw_all.hidden;
    raw_toggle.setAttribute('aria-expanded', String(!raw_all.hidden));
    raw_toggle.textContent = raw_all.hidden ? 'Raw JSON of all shown' : 'Hide raw JSON';
    draw();
  });
  const on_change = (e) => { if (e.detail.device_id === device_id) later(); };
  log.addEventListener('change', on_change);

  replace(ctx.root,
    h('div', { class: 'feed-tools' },
      h('label', { class: 'filter' }, 'Filter by event name', filter), names,
      h('div', { class: 'row' }, pause, raw_toggle)),
    status, raw_all, empty, list);
  draw();
  return () => {
    log.removeEventListener('change', on_change);
    clearTimeout(timer);
  };
}

export const views = [
  { path: '/devices/:id/events', title: 'Events', tab: 'events', label: 'Events', role: 'viewer', render },
];
