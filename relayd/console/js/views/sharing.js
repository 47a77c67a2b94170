// A robot's Sharing tab (owner): who else may use it and how — viewers watch its events and
// video, operators also send commands and use the REST tunnel (docs/api.md, "Members").
import { h, replace, notice, busy_form, field, confirm_button } from '../ui.js';
import { error_words } from '../api.js';

const roles = ['viewer', 'operator'];
const role_words = { viewer: 'viewer (events, video)', operator: 'operator (also commands, tunnel)' };

function role_select(name, value) {
  return h('select', { name }, roles.map((r) => h('option', { value: r, selected: r === value }, role_words[r])));
}

async function sharing(ctx) {
  if (ctx.device.role !== 'owner') {
    replace(ctx.root, h('p', {}, 'Only the robot\'s owner sees and changes who has it.'));
    return;
  }
  const path = `/api/devices/${encodeURIComponent(ctx.device.device_id)}/members`;
  const members = h('div', { class: 'members' }, h('p', { class: 'muted' }, 'Loading…'));
  const status = h('p', { class: 'done', role: 'status' });

  const draw = (list) => {
    replace(members, h('ul', { class: 'member-list' }, list.map((m) => {
      if (m.role === 'owner') {
        return h('li', { class: 'card member', dataset: { email: m.email } },
          h('span', { class: 'member-email' }, m.email), h('span', { class: 'role' }, 'owner'));
      }
      const select = role_select('role', m.role);
      select.setAttribute('aria-label', `Role of ${m.email}`);
      select.addEventListener('change', async () => {
        select.disabled = true;
        try {
          const changed = await ctx.session.request('POST', path, { email: m.email, role: select.value });
          status.textContent = `${m.email} is now ${changed.role}.`;
          await load();
        } catch (error) {
          select.value = m.role;
          notice(error_words(error));
        } finally {
          select.disabled = false;
        }
      });
      return h('li', { class: 'card member', dataset: { email: m.email } },
        h('span', { class: 'member-email' }, m.email), select,
        confirm_button('Remove…', `Stop sharing with ${m.email}? They lose the robot at once.`, 'Yes, stop sharing', async () => {
          await ctx.session.request('DELETE', `${path}/${encodeURIComponent(m.user_id)}`);
          status.textContent = `${m.email} no longer has the robot.`;
          await load();
        }));
    })));
  };
  const load = async () => draw(await ctx.session.request('GET', path));

  const email = h('input', { type: 'email', name: 'email', required: true, autocomplete: 'off' });
  const role = role_select('role', 'viewer');
  const form = busy_form({ 'aria-label': 'Share' }, async () => {
    const added = await ctx.session.request('POST', path, { email: email.value, role: role.value });
    status.textContent = `Shared with ${added.email} as ${added.role}.`;
    email.value = '';
    notice(null);
    await load();
  }, field('Email of their account', email, 'They must have registered on this relay.'), field('Role', role),
  h('button', { type: 'submit' }, 'Share'));

  replace(ctx.root, h('h2', { class: 'first' }, 'People with this robot'), members, status,
    h('h2', {}, 'Share with someone'), form);
  try {
    await load();
  } catch (error) {
    replace(members, h('p', { class: 'error' }, error_words(error)));
  }
}

export const views = [
  { path: '/devices/:id/sharing', title: 'Sharing', tab: 'sharing', label: 'Sharing', role: 'owner', render: sharing },
];
