// A robot's Tunnel tab: a request to the robot's own API through the relay (the socket's
// http_request, docs/protocol.md "REST tunnel over the socket": the relay's refusals come as an
// `error`, the robot's answers — its 404s included — as `http_response`, so the two are never
// confused). Presets for the robot API's usual paths; the answer's status, headers and body
// (pretty JSON, text, an image, or the size of other bytes). Viewers may only GET.
import { h, replace, read_json } from '../ui.js';
import { describe_error } from '../errors.js';

const presets = [
  { label: 'Status', method: 'GET', path: '/status' },
  { label: 'Missions', method: 'GET', path: '/missions/available' },
  { label: 'Mission status', method: 'GET', path: '/missions/status' },
  { label: 'Start mission', method: 'POST', path: '/missions/start', body: { mission: 'patrol' } },
  { label: 'Programs', method: 'GET', path: '/programs/available' },
  { label: 'Reports', method: 'GET', path: '/reports/weekly' },
  { label: 'Mode', method: 'GET', path: '/mode' },
  { label: 'Set mode', method: 'POST', path: '/mode', body: { mode: 'manual' } },
];
const methods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
const reasons = { 200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No Content', 301: 'Moved Permanently',
  302: 'Found', 304: 'Not Modified', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found',
  405: 'Method Not Allowed', 409: 'Conflict', 413: 'Content Too Large', 422: 'Unprocessable Content',
  429: 'Too Many Requests', 500: 'Internal Server Error', 501: 'Not Implemented', 502: 'Bad Gateway',
  503: 'Service Unavailable', 504: 'Gateway Timeout' };

function header(headers, name) {
  for (const [k, v] of Object.entries(headers ?? {})) if (k.toLowerCase() === name) return v;
  return '';
}

function decode_base64(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Bytes as text when they are UTF-8 without control characters (tab and newlines aside). */
function as_text(bytes) {
  let text;
  try { text = new TextDecoder('utf-8', { fatal: true }).decode(bytes); } catch { return null; }
  return /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text) ? null : text;
}

/** The answer's body: {node, url?} (url: a blob URL to revoke later). */
function body_view(answer) {
  if ('body' in answer) return { node: h('pre', { class: 'raw', dataset: { body: 'json' } }, JSON.stringify(answer.body, null, 2)) };
  if (typeof answer.body_b64 !== 'string' || answer.body_b64 === '') return { node: h('p', { class: 'muted', dataset: { body: 'none' } }, 'No body.') };
  let bytes;
  try { bytes = decode_base64(answer.body_b64); } catch {
    return { node: h('p', { class: 'error' }, 'The body is not valid base64.') };
  }
  const type = header(answer.headers, 'content-type');
  const text = as_text(bytes);
  if (text !== null) {
    let pretty = null;
    try { pretty = JSON.stringify(JSON.parse(text), null, 2); } catch { /* text, not JSON */ }
    return { node: h('pre', { class: 'raw', dataset: { body: pretty === null ? 'text' : 'json' } }, pretty ?? text) };
  }
  const size = h('p', { dataset: { body: 'binary' } }, `${bytes.length} bytes of binary data${type ? ` (${type})` : ''}.`);
  if (/^image\/(png|jpeg|gif|webp)$/i.test(type)) {
    const url = URL.createObjectURL(new Blob([bytes], { type }));
    return { node: h('div', {}, size, h('img', { class: 'tunnel-image', src: url, alt: 'The image the robot answered with' })), url };
  }
  return { node: size };
}

function render(ctx) {
  const device_id = ctx.device.device_id;
  const viewer = ctx.device.role === 'viewer';
  let blob_url = null;
  let busy = false;
  let left = false; // the tab was left: an answer still coming is not shown (nor its image's blob URL made)

  const method = h('select', { name: 'method' },
    (viewer ? ['GET'] : methods).map((m) => h('option', { value: m }, m)));
  const path = h('input', { name: 'path', value: '/status', required: true, autocomplete: 'off', spellcheck: 'false',
                            'aria-describedby': 'tunnel-path-help' });
  const query = h('input', { name: 'query', autocomplete: 'off', spellcheck: 'false', placeholder: 'page=2&limit=10' });
  const body = h('textarea', { name: 'body', rows: '4', spellcheck: 'false', placeholder: '{"mission": "patrol"}',
                               'aria-describedby': 'tunnel-body-error' });
  const body_label = h('label', {}, 'JSON body', body);
  const form_error = h('p', { id: 'tunnel-body-error', class: 'error', hidden: true });
  const submit = h('button', { type: 'submit' }, 'Send');
  const answer = h('section', { class: 'tunnel-answer', 'aria-live': 'polite', 'aria-label': 'Answer' });

  function show_body_field() {
    body_label.hidden = method.value === 'GET' || method.value === 'DELETE';
  }
  method.addEventListener('change', show_body_field);

  function use(preset) {
    method.value = preset.method;
    path.value = preset.path;
    query.value = '';
    body.value = preset.body === undefined ? '' : JSON.stringify(preset.body, null, 2);
    show_body_field();
    form_error.hidden = true;
  }

  function show(...children) {
    if (blob_url) URL.revokeObjectURL(blob_url);
    blob_url = null;
    replace(answer, ...children);
  }

  async function send(e) {
    e.preventDefault();
    if (busy) return;
    let p = path.value.trim();
    let q = query.value.trim().replace(/^\?/, '');
    const mark = p.indexOf('?');
    if (mark >= 0) { q = q || p.slice(mark + 1); p = p.slice(0, mark); }
    if (!p.startsWith('/')) p = `/${p}`;
    const message = { type: 'http_request', device_id, method: method.value, path: p, query: q, headers: {} };
    if (!body_label.hidden) {
      const json = read_json(body, form_error, 'The body');
      if (!json.ok) return;
      if (json.value !== undefined) {
        message.body = json.value;
        message.headers['Content-Type'] = 'application/json';
      }
    } else {
      form_error.hidden = true;
    }
    busy = true;
    submit.disabled = true;
    const line = `${message.method} ${p}${q ? `?${q}` : ''}`;
    show(h('p', { class: 'muted' }, `${line}: waiting for the robot…`));
    const started = performance.now();
    try {
      const m = await ctx.socket.request(message, { accept: (x) => x.type === 'http_response', timeout_ms: 60000 });
      if (left) return;
      const ms = Math.round(performance.now() - started);
      const view = body_view(m);
      show(h('h2', {}, line),
        h('p', { class: 'tunnel-status', dataset: { status: String(m.status) } },
          h('strong', {}, `${m.status} ${reasons[m.status] ?? ''}`.trim()), h('span', { class: 'muted' }, ` · ${ms} ms`)),
        h('h3', {}, 'Headers'),
        Object.keys(m.headers ?? {}).length === 0 ? h('p', { class: 'muted' }, 'None.')
          : h('table', { class: 'headers' }, h('tbody', {}, Object.entries(m.headers).map(([k, v]) =>
            h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, v))))),
        h('h3', {}, 'Body'), view.node);
      blob_url = view.url ?? null;
    } catch (error) {
      show(h('h2', {}, line),
        h('p', { class: 'error tunnel-error', role: 'alert', dataset: { code: error.code ?? '' } },
          describe_error(error.code, error.message)),
        error.message && error.message !== error.code ? h('p', { class: 'muted' }, `The relay said: ${error.message}`) : null);
    } finally {
      busy = false;
      submit.disabled = false;
    }
  }

  replace(ctx.root,
    h('div', { class: 'presets', role: 'group', 'aria-label': 'Presets' },
      presets.filter((p) => !viewer || p.method === 'GET').map((p) =>
        h('button', { type: 'button', class: 'secondary', onclick: () => use(p) }, p.label))),
    h('form', { class: 'stack tunnel-form', novalidate: true, onsubmit: send },
      h('div', { class: 'tunnel-line' },
        h('label', { class: 'method' }, 'Method', method),
        h('label', { class: 'path' }, 'Path', path)),
      h('p', { id: 'tunnel-path-help', class: 'muted hint' },
        viewer ? 'Relative to the robot\'s API. As a viewer you may only read (GET).'
               : 'Relative to the robot\'s API; the relay passes only the paths on its allow list.'),
      h('label', {}, 'Query (without ?)', query),
      body_label, form_error,
      h('div', { class: 'row' }, submit)),
    answer);
  show_body_field();
  return () => {
    left = true;
    if (blob_url) URL.revokeObjectURL(blob_url);
  };
}

export const views = [
  { path: '/devices/:id/tunnel', title: 'Tunnel', tab: 'tunnel', label: 'Tunnel', role: 'viewer', render },
];
