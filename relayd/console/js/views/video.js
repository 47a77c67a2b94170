// A robot's Video tab. (Skeleton: the VIDEO work fills it in.)
import { h, replace } from '../ui.js';

export const views = [
  { path: '/devices/:id/video', title: 'Video', tab: 'video', label: 'Video', role: 'viewer',
    render: (ctx) => replace(ctx.root, h('p', { class: 'muted' }, 'Video: not built yet.')) },
];
