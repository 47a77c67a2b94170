// A robot's Tunnel tab. (Skeleton: the LIVE work fills it in.)
import { h, replace } from '../ui.js';

export const views = [
  { path: '/devices/:id/tunnel', title: 'Tunnel', tab: 'tunnel', label: 'Tunnel', role: 'operator',
    render: (ctx) => replace(ctx.root, h('p', { class: 'muted' }, 'Tunnel: not built yet.')) },
];
