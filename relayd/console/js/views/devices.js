// The robots: the list with live presence, adding one, and a robot's overview tab.
// (Skeleton: the ACCOUNT work fills it in.)
import { h, replace } from '../ui.js';

function list(ctx) {
  const draw = () => replace(ctx.root, h('h1', {}, 'Your robots'),
    h('ul', { class: 'devices' }, ctx.devices.list().map((d) => h('li', {},
      h('span', { class: 'dot', dataset: { online: String(!!d.online) } }), ' ',
      h('a', { href: `#/devices/${encodeURIComponent(d.device_id)}` }, d.name)))));
  ctx.devices.addEventListener('change', draw);
  draw();
  return () => ctx.devices.removeEventListener('change', draw);
}

function overview(ctx) {
  replace(ctx.root, h('p', {}, `Robot ${ctx.device.device_id}`));
}

export const views = [
  { path: '/devices', title: 'Robots', render: list },
  { path: '/devices/:id', title: 'Robot', tab: 'overview', label: 'Overview', render: overview },
];
