// A robot's Command tab. (Skeleton: the LIVE work fills it in.)
import { h, replace } from '../ui.js';

export const views = [
  { path: '/devices/:id/command', title: 'Command', tab: 'command', label: 'Command', role: 'operator',
    render: (ctx) => replace(ctx.root, h('p', { class: 'muted' }, 'Command: not built yet.')) },
];
