// The robots: the list with live presence, adding one (its secret and the command lines that
// start it, shown once), and a robot's overview tab (facts, and for the owner: rename, rotate the
// secret, set a public key, remove, the robot's audit trail).
import { h, replace, notice, when, busy_form, field, confirm_button, copy_block } from '../ui.js';
import { error_words } from '../api.js';

const id_pattern = '[A-Za-z0-9._\\-]{1,64}'; // docs/api.md, device_id

const action_words = {
  'auth.login': 'Signed in',
  'auth.login_failed': 'Failed sign-in',
  'auth.refresh_reuse': 'A used sign-in token was presented again: every token of that sign-in was ended',
  'auth.password_reset': 'Password changed with a reset link',
  'device.added': 'Robot added',
  'device.renamed': 'Robot renamed',
  'device.removed': 'Robot removed',
  'device.secret_rotated': 'Robot secret rotated',
  'device.key_set': 'Robot public key set',
  'member.added': 'Robot shared',
  'member.role_changed': 'Role changed',
  'member.removed': 'Sharing ended',
  'account.delete_refused': 'Account deletion refused',
  'account.deleted': 'Account deleted',
};

/** Whether the robot is there now, or when it was last. */
function presence(d) {
  if (d.online) return 'online';
  return d.last_seen ? `offline · last seen ${when(d.last_seen)}` : 'offline · never connected';
}

function capability_list(capabilities) {
  const entries = Object.entries(capabilities ?? {});
  if (!entries.length) return h('span', { class: 'muted' }, 'none announced yet');
  return h('ul', { class: 'caps' }, entries.map(([k, v]) =>
    h('li', {}, typeof v === 'boolean' ? (v ? k : `no ${k}`) : `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)));
}

/**
 * The command lines that start a robot for this relay: robot-agent installed or from a build
 * tree, and the Python robot (docs/python.md). `secret` null: a device with a public key.
 */
export function robot_commands(device_id, secret) {
  const origin = location.origin;
  const auth = secret === null ? '' : `RELAY_DEVICE_SECRET='${secret}' `;
  const key = secret === null ? ' --key-file device-key.pem' : '';
  const tail = `--relay ${origin} --device-id ${device_id}${key}`;
  return h('div', { class: 'commands' },
    copy_block('robot-agent command', `${auth}robot-agent ${tail}`, { name: 'robot-agent' }),
    h('p', { class: 'hint' }, 'From a build of the relay\'s repository, run it from the repository\'s root as ',
      h('code', {}, 'build/examples/robot-agent/robot-agent'), ':'),
    copy_block('build-tree command', `${auth}build/examples/robot-agent/robot-agent ${tail}`, { name: 'robot-agent-build' }),
    h('p', { class: 'hint' }, 'The Python robot (video too), from the repository\'s root with Debian\'s python3 and the ',
      h('code', {}, 'relay_robot'), ' module built (', h('code', {}, 'cmake --build build --target relay_robot_native'), '):'),
    copy_block('Python robot command', `PYTHONPATH=build/python ${auth}/usr/bin/python3 examples/python-robot/robot.py ${tail}`,
               { name: 'robot-py' }));
}

/** A secret shown once: the warning, the secret with its copy button, the commands. */
function secret_panel(device_id, secret, heading) {
  return h('section', { class: 'card secret-panel', 'aria-label': heading },
    h('h2', {}, heading),
    h('p', { class: 'warning' }, h('strong', {}, 'Copy the secret now: it is not shown again. '),
      'Whoever has it can connect as this robot. If it is lost, rotate it on the robot\'s page.'),
    copy_block('Secret', secret, { name: 'secret' }),
    h('p', {}, 'Start the robot with it, on the robot:'),
    robot_commands(device_id, secret));
}

function key_panel(device_id, heading) {
  return h('section', { class: 'card secret-panel', 'aria-label': heading },
    h('h2', {}, heading),
    h('p', {}, 'The robot signs in with its private key (', h('code', {}, 'device-key.pem'),
      ', made by ', h('code', {}, 'relay-cli device keygen --out device-key.pem'), '); the relay keeps only the public key, so there is no secret.'),
    robot_commands(device_id, null));
}

/**
 * Fills `box` with a page of an audit trail (`path`: /api/account/audit or a device's), a
 * "Show older" button while there are more, and "Refresh" (entries are written a moment after
 * the action they record).
 */
export async function audit_table(ctx, path, box) {
  const body = h('tbody');
  const more = h('button', { type: 'button', class: 'secondary', hidden: true });
  const me = ctx.session.user_id;
  let before = null;
  const draw_table = () => replace(box, h('div', { class: 'table-scroll' }, h('table', { class: 'audit-table' },
    h('thead', {}, h('tr', {}, h('th', {}, 'When'), h('th', {}, 'What'), h('th', {}, 'Who'))), body)),
  h('div', { class: 'row' }, more, h('button', { type: 'button', class: 'secondary', onclick: () => {
    before = null;
    body.replaceChildren();
    draw_table();
    page().catch((error) => notice(error_words(error)));
  } }, 'Refresh')));
  const page = async () => {
    const q = before === null ? '?limit=50' : `?limit=50&before=${before}`;
    const answer = await ctx.session.request('GET', `${path}${q}`);
    for (const e of answer.entries) {
      const detail = Object.entries(e.detail ?? {}).map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
      body.append(h('tr', {},
        h('td', { class: 'nowrap' }, when(e.ts)),
        h('td', {}, action_words[e.action] ?? e.action, e.device_id ? h('span', { class: 'muted' }, ` · ${e.device_id}`) : null,
          detail.length ? h('div', { class: 'muted small' }, detail.join(', ')) : null),
        h('td', { class: 'who' }, e.actor === me ? 'you' : (e.actor ?? '—'),
          e.client_address ? h('div', { class: 'muted small' }, e.client_address) : null)));
    }
    before = answer.next_before;
    more.hidden = before === null;
    if (!body.children.length) body.append(h('tr', {}, h('td', { colspan: '3', class: 'muted' }, 'Nothing recorded yet.')));
  };
  more.textContent = 'Show older';
  more.addEventListener('click', () => page().catch((error) => notice(error_words(error))));
  draw_table();
  try {
    await page();
  } catch (error) {
    replace(box, h('p', { class: 'error' }, error_words(error)));
  }
}

function list(ctx) {
  const body = h('div', { class: 'robots' });
  const draw = () => {
    const devices = ctx.devices.list();
    if (!ctx.devices.loaded) {
      replace(body, h('p', { class: 'muted' }, 'Loading…'));
      return;
    }
    if (!devices.length) {
      replace(body, h('div', { class: 'card empty' }, h('p', {}, 'You have no robots yet. Add one: the console gives you its secret '
        + 'and the command that connects it.'), h('a', { class: 'button', href: '#/add-robot' }, 'Add a robot')));
      return;
    }
    replace(body, h('ul', { class: 'robot-list' }, devices.map((d) => h('li', { class: 'card robot', dataset: { device: d.device_id } },
      h('div', { class: 'robot-title' },
        h('span', { class: 'dot', dataset: { online: String(!!d.online) }, 'aria-hidden': 'true' }),
        h('a', { href: `#/devices/${encodeURIComponent(d.device_id)}` }, d.name),
        h('span', { class: 'role' }, d.role)),
      h('div', { class: 'muted small' }, h('span', { class: 'presence' }, presence(d)), ` · ${d.device_id}`),
      d.capabilities ? h('div', { class: 'small' }, 'Capabilities: ', capability_list(d.capabilities)) : null))));
  };
  replace(ctx.root, h('div', { class: 'page-head' }, h('h1', {}, 'Your robots'),
    h('a', { class: 'button', href: '#/add-robot' }, 'Add a robot')), body);
  ctx.devices.addEventListener('change', draw);
  draw();
  // Always read the list again: robots shared with you since show up.
  ctx.devices.load().catch((error) => notice(error_words(error)));
  return () => ctx.devices.removeEventListener('change', draw);
}

function add(ctx) {
  const name = h('input', { name: 'name', required: true, maxlength: '128', autocomplete: 'off' });
  const device_id = h('input', { name: 'device_id', pattern: id_pattern, autocomplete: 'off', spellcheck: false });
  const use_key = h('input', { type: 'checkbox', name: 'use_key' });
  const public_key = h('textarea', { name: 'public_key', rows: '3', spellcheck: false });
  const key_field = field('Public key', public_key, 'Base64url of the raw Ed25519 key (43 characters), or a PEM public key.');
  key_field.hidden = true;
  use_key.addEventListener('change', () => {
    key_field.hidden = !use_key.checked;
    public_key.required = use_key.checked;
  });
  const result = h('div', { class: 'add-result' });
  const form = busy_form({ 'aria-label': 'Add a robot' }, async () => {
    const body = { name: name.value.trim() };
    if (device_id.value.trim()) body.device_id = device_id.value.trim();
    if (use_key.checked) body.public_key = public_key.value.trim();
    const d = await ctx.session.request('POST', '/api/devices', body);
    ctx.devices.update(d.device_id, { name: d.name, role: 'owner', online: false, last_seen: null, capabilities: {},
                                      key_type: d.key_type ?? 'secret' });
    notice(null);
    form.hidden = true;
    const link = h('a', { class: 'button', href: `#/devices/${encodeURIComponent(d.device_id)}` }, `Go to ${d.name}`);
    replace(result, h('p', { class: 'done', role: 'status' }, `${d.name} is added, with the id `, h('code', {}, d.device_id), '.'),
      d.device_secret ? secret_panel(d.device_id, d.device_secret, 'Its secret and how to start it')
                      : key_panel(d.device_id, 'How to start it'),
      h('div', { class: 'row' }, link, h('a', { href: '#/devices' }, 'All robots'),
        h('button', { type: 'button', class: 'secondary', onclick: () => {
          form.reset();
          key_field.hidden = true;
          public_key.required = false;
          replace(result);
          form.hidden = false;
          name.focus();
        } }, 'Add another robot')));
    result.querySelector('button')?.focus();
  },
  field('Name', name, 'What you call it: "Kitchen robot".'),
  field('Device id (optional)', device_id, 'Letters, digits, dot, dash, underscore; empty: the relay picks one.'),
  h('label', { class: 'check' }, use_key, 'The robot has its own key pair (no secret)'),
  key_field,
  h('button', { type: 'submit' }, 'Add robot'));
  replace(ctx.root, h('h1', {}, 'Add a robot'), form, result);
}

async function overview(ctx) {
  const id = ctx.device.device_id;
  const path = `/api/devices/${encodeURIComponent(id)}`;
  const facts = h('dl', { class: 'facts' });
  const owner_box = h('div', { class: 'owner-tools' });
  const panel = h('div', { class: 'panel', 'aria-live': 'polite' });
  const draw = () => {
    const d = ctx.devices.get(id);
    if (!d) return;
    replace(facts,
      h('dt', {}, 'Status'), h('dd', { class: 'presence' }, h('span', { class: 'dot', dataset: { online: String(!!d.online) } }), ' ', presence(d)),
      h('dt', {}, 'Your role'), h('dd', {}, d.role),
      h('dt', {}, 'Capabilities'), h('dd', { class: 'capabilities' }, capability_list(d.capabilities)),
      h('dt', {}, 'Firmware'), h('dd', {}, d.firmware ?? h('span', { class: 'muted' }, 'not announced')),
      h('dt', {}, 'Signs in with'), h('dd', {}, d.key_type === 'ed25519' ? 'an Ed25519 key' : 'a secret'),
      d.created_at ? [h('dt', {}, 'Added'), h('dd', {}, when(d.created_at))] : null);
  };
  replace(ctx.root, h('h2', { class: 'first' }, 'About this robot'), facts, panel, owner_box);
  ctx.devices.addEventListener('change', draw);
  draw();
  const stop = () => ctx.devices.removeEventListener('change', draw);
  try {
    await ctx.devices.reload(id);
  } catch (error) {
    notice(error_words(error));
  }
  if (ctx.device.role !== 'owner') return stop;

  const name = h('input', { name: 'name', required: true, maxlength: '128', value: ctx.device.name, autocomplete: 'off' });
  const rename = busy_form({ 'aria-label': 'Rename', class: 'stack inline' }, async () => {
    const d = await ctx.session.request('PATCH', path, { name: name.value.trim() });
    ctx.devices.update(id, d);
    replace(panel, h('p', { class: 'done', role: 'status' }, `Renamed to ${d.name}.`));
  }, field('Name', name), h('button', { type: 'submit' }, 'Rename'));

  const rotate = confirm_button('Rotate secret…',
    'Make a new secret? The old one stops working at once and a connected robot is disconnected until it is started with the new one.',
    'Yes, make a new secret', async () => {
      const was_online = !!ctx.devices.get(id)?.online;
      const answer = await ctx.session.request('POST', `${path}/secret`);
      ctx.devices.update(id, { key_type: 'secret', public_key: undefined });
      replace(panel, was_online ? h('p', { class: 'warning', role: 'status' },
        'The robot was disconnected: start it again with the new secret.') : null,
      secret_panel(id, answer.device_secret, 'The new secret and how to start the robot with it'));
      panel.querySelector('.secret-panel button')?.focus();
    }, { danger: false });

  const key = h('textarea', { name: 'public_key', rows: '3', required: true, spellcheck: false });
  const set_key = busy_form({ 'aria-label': 'Set a public key' }, async () => {
    const was_online = !!ctx.devices.get(id)?.online;
    const answer = await ctx.session.request('PUT', `${path}/key`, { public_key: key.value.trim() });
    ctx.devices.update(id, { key_type: answer.key_type, public_key: answer.public_key });
    key.value = '';
    replace(panel, was_online ? h('p', { class: 'warning', role: 'status' },
      'The robot was disconnected: start it again with its private key.') : null,
    key_panel(id, 'The robot now signs in with its key'));
  }, field('Public key', key, 'Base64url of the raw Ed25519 key, or a PEM public key. The secret stops working.'),
  h('button', { type: 'submit', class: 'secondary' }, 'Use this key'));

  const remove = confirm_button('Remove robot…',
    () => `Remove ${ctx.devices.get(id)?.name ?? id}? It is disconnected, everyone it is shared with loses it, and its history is deleted.`,
    'Yes, remove it', async () => {
      await ctx.session.request('DELETE', path);
      const gone = ctx.devices.get(id)?.name ?? id;
      ctx.devices.update(id, null);
      ctx.navigate('/devices', [`${gone} is removed.`, 'info']);
    });

  const trail = h('div', { class: 'audit' }, h('p', { class: 'muted' }, 'Loading…'));
  replace(owner_box,
    h('h2', {}, 'Name'), rename,
    h('h2', {}, 'How it signs in'),
    h('p', { class: 'muted' }, 'A new secret, if the old one may have leaked; or a public key, if the robot has a key pair.'),
    h('div', { class: 'row' }, rotate),
    h('details', { class: 'key-details' }, h('summary', {}, 'Use a public key instead of a secret'), set_key),
    h('h2', {}, 'Remove'), remove,
    h('h2', {}, 'What happened to this robot'), trail);
  await audit_table(ctx, `${path}/audit`, trail);
  return stop;
}

export const views = [
  { path: '/devices', title: 'Robots', render: list },
  { path: '/add-robot', title: 'Add a robot', render: add },
  { path: '/devices/:id', title: 'Robot', tab: 'overview', label: 'Overview', render: overview },
];
