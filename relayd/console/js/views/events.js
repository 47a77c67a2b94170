// A robot's Events tab. (Skeleton: the LIVE work fills it in.)
import { h, replace } from '../ui.js';

export const views = [
  { path: '/devices/:id/events', title: 'Events', tab: 'events', label: 'Events', role: 'viewer',
    render: (ctx) => replace(ctx.root, h('p', { class: 'muted' }, 'Events: not built yet.')) },
];
