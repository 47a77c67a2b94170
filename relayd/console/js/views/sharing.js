// A robot's Sharing tab. (Skeleton: the ACCOUNT work fills it in.)
import { h, replace } from '../ui.js';

export const views = [
  { path: '/devices/:id/sharing', title: 'Sharing', tab: 'sharing', label: 'Sharing', role: 'owner',
    render: (ctx) => replace(ctx.root, h('p', { class: 'muted' }, 'Sharing: not built yet.')) },
];
