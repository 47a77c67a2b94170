// A robot's Command tab: a command name and JSON data, checked before sending; each command
// sent shows its way: sent → ack (the relay handed it to the robot) → result (ok with data, or
// the robot's error) — or the relay's error in words, or no result in the time asked for (a
// result that comes later still shows, marked late). The list lives as long as the page's
// sign-in: signing out forgets it (app.js calls forget_commands), so the next user sees none.
import { h, replace, read_json } from '../ui.js';
import { describe_error } from '../errors.js';
import { message_id } from '../socket.js';

const kept = 20;
const history = new Map();   // device_id → records, newest first
const listening = new WeakSet(); // sockets whose command_results are taken
const redraws = new Set();   // the open view's redraw

/** {id, device_id, command, data, sent_at, state: 'sending'|'acked'|'ok'|'failed'|'error'|'timeout', …} */
function records(device_id) {
  if (!history.has(device_id)) history.set(device_id, []);
  return history.get(device_id);
}

function changed() {
  for (const redraw of redraws) redraw();
}

/** Forgets every command sent (sign-out); results still on their way find no record. */
export function forget_commands() {
  for (const list of history.values()) for (const record of list) clearTimeout(record.timer);
  history.clear();
  changed();
}

/** Results reach the records even while the tab is closed. */
function listen(socket) {
  if (listening.has(socket)) return;
  listening.add(socket);
  socket.addEventListener('message', (e) => {
    const m = e.detail;
    if (m.type !== 'command_result') return;
    const record = records(m.device_id).find((r) => r.id === m.id);
    if (!record || record.state === 'ok' || record.state === 'failed' || record.state === 'error') return;
    clearTimeout(record.timer);
    record.late = record.state === 'timeout';
    record.state = m.ok ? 'ok' : 'failed';
    record.result = m;
    record.result_at = new Date();
    changed();
  });
}

function time(date) {
  return date ? h('time', { datetime: date.toISOString() }, date.toLocaleTimeString([], { hour12: false })) : null;
}

function robot_error(error) {
  if (error === undefined || error === null) return 'the robot gave no reason';
  if (typeof error === 'string') return error;
  if (typeof error === 'object' && typeof error.message === 'string') {
    return typeof error.code === 'string' ? `${error.message} (${error.code})` : error.message;
  }
  return JSON.stringify(error);
}

function record_item(r) {
  const steps = [h('li', { dataset: { step: 'sent' } }, time(r.sent_at), ' Sent')];
  if (r.ack_at) steps.push(h('li', { dataset: { step: 'ack' } }, time(r.ack_at), ' Ack: the relay handed it to the robot'));
  if (r.state === 'sending') steps.push(h('li', { class: 'muted' }, 'Waiting for the relay…'));
  if (r.state === 'acked') steps.push(h('li', { class: 'muted' }, `Waiting for the robot's result (up to ${r.timeout_s} s)…`));
  if (r.state === 'timeout' || r.late) {
    steps.push(h('li', { dataset: { step: 'timeout' }, class: 'warn' },
                 `No result within ${r.timeout_s} s: the robot may still be working on it.`));
  }
  if (r.state === 'ok' || r.state === 'failed') {
    const late = r.late ? ' (after the timeout)' : '';
    steps.push(r.state === 'ok'
      ? h('li', { dataset: { step: 'result' }, class: 'ok' }, time(r.result_at), ` Result: ok${late}`,
          r.result.data === undefined ? null : h('pre', { class: 'raw' }, JSON.stringify(r.result.data, null, 2)))
      : h('li', { dataset: { step: 'result' }, class: 'error' }, time(r.result_at),
          ` Result: failed${late}: ${robot_error(r.result.error)}`));
  }
  if (r.state === 'error') {
    steps.push(h('li', { dataset: { step: 'error', code: r.error.code }, class: 'error' },
                 describe_error(r.error.code, r.error.message),
                 r.error.message && r.error.message !== r.error.code ? h('span', { class: 'muted' }, ` (${r.error.message})`) : null));
  }
  return h('li', { class: 'card command', dataset: { state: r.state, id: r.id } },
    h('div', { class: 'command-head' }, h('strong', {}, r.command), ' ',
      h('span', { class: 'muted' }, r.data === undefined ? 'no data' : summary(r.data))),
    h('ol', { class: 'steps' }, steps));
}

function summary(data) {
  const text = JSON.stringify(data);
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}

async function send(ctx, record) {
  const message = { type: 'command', device_id: record.device_id, id: record.id, command: record.command };
  if (record.data !== undefined) message.data = record.data;
  try {
    await ctx.socket.request(message, { accept: (m) => m.type === 'ack', timeout_ms: 15000 });
  } catch (error) {
    if (record.state !== 'sending') return;
    record.state = 'error';
    record.error = { code: error.code ?? 'NETWORK', message: error.message };
    changed();
    return;
  }
  record.ack_at = new Date();
  if (record.state === 'sending') {
    record.state = 'acked';
    record.timer = setTimeout(() => {
      if (record.state !== 'acked') return;
      record.state = 'timeout';
      changed();
    }, record.timeout_s * 1000);
  }
  changed();
}

function render(ctx) {
  listen(ctx.socket);
  const device_id = ctx.device.device_id;
  const name = h('input', { name: 'command', required: true, autocomplete: 'off', spellcheck: 'false',
                            placeholder: 'e.g. dock' });
  const data_error = h('p', { id: 'command-data-error', class: 'error', hidden: true });
  const data = h('textarea', { name: 'data', rows: '4', spellcheck: 'false', placeholder: '{"speed": 0.5}',
                               'aria-describedby': 'command-data-help command-data-error' });
  const timeout = h('input', { type: 'number', name: 'timeout', min: '1', max: '600', value: '30', inputmode: 'numeric' });
  const list = h('ol', { class: 'commands', 'aria-label': 'Commands sent, newest first' });

  function draw() {
    const sent = records(device_id);
    replace(list, sent.length ? sent.map(record_item) : h('li', { class: 'muted' }, 'Nothing sent yet.'));
  }

  data.addEventListener('input', () => {
    data_error.hidden = true;
    data.removeAttribute('aria-invalid');
  });
  const form = h('form', { class: 'stack command-form', novalidate: true, onsubmit: (e) => {
    e.preventDefault();
    const command = name.value.trim();
    if (!command) {
      name.setAttribute('aria-invalid', 'true');
      name.focus();
      return;
    }
    name.removeAttribute('aria-invalid');
    const { ok, value } = read_json(data, data_error, 'The data');
    if (!ok) return;
    const list_now = records(device_id);
    const record = { id: message_id('cmd'), device_id, command, data: value, sent_at: new Date(), state: 'sending',
                     timeout_s: Math.min(600, Math.max(1, Number(timeout.value) || 30)) };
    list_now.unshift(record);
    for (const old of list_now.splice(kept)) clearTimeout(old.timer);
    changed();
    send(ctx, record);
  } },
    h('label', {}, 'Command', name),
    h('label', {}, 'Data (JSON, optional)', data),
    h('p', { id: 'command-data-help', class: 'muted hint' }, 'Any JSON value: an object, a list, a string in quotes, a number.'),
    data_error,
    h('label', {}, 'Wait for the result (seconds)', timeout),
    h('div', { class: 'row' }, h('button', { type: 'submit' }, 'Send')));

  redraws.add(draw);
  replace(ctx.root,
    ctx.device.role === 'viewer'
      ? h('p', { class: 'muted' }, 'You are a viewer of this robot: the relay takes commands from its operators and owner only.')
      : null,
    form, h('h2', {}, 'Sent'), list);
  draw();
  return () => redraws.delete(draw);
}

export const views = [
  { path: '/devices/:id/command', title: 'Command', tab: 'command', label: 'Command', role: 'operator', render },
];
