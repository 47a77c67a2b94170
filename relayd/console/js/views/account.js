// Accounts: sign in, register, password reset (request and the link's page), the account page.
// (Skeleton: the ACCOUNT work fills it in.)
import { h, replace, notice } from '../ui.js';
import { describe_error } from '../errors.js';

async function sign_in(ctx) {
  const email = h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const form = h('form', { class: 'stack', onsubmit: async (e) => {
    e.preventDefault();
    try {
      await ctx.session.login(email.value, password.value);
      ctx.navigate(ctx.query.get('next') ?? '/devices');
    } catch (error) {
      notice(describe_error(error.code, error.message));
    }
  } }, h('label', {}, 'Email', email), h('label', {}, 'Password', password), h('button', { type: 'submit' }, 'Sign in'));
  replace(ctx.root, h('h1', {}, 'Sign in'), form);
}

export const views = [
  { path: '/login', title: 'Sign in', auth: false, render: sign_in },
];
