// Accounts: sign in, register, the password reset (asking for a link, and the link's page), the
// account page (who is signed in, their audit trail, deleting the account).
// Errors are shown in clear words (api.js error_words: errors.js, and when to try again on 429).
import { h, replace, notice, busy_form, field } from '../ui.js';
import { session as session_class } from '../api.js';
import { audit_table } from './devices.js';

const min_password = 10; // docs/api.md, register: WEAK_PASSWORD below 10 characters

/** Where to go after signing in: `?next=` when it is a console path, else the robots. */
function next_path(ctx) {
  const next = ctx.query.get('next');
  return next && next.startsWith('/') && !next.startsWith('/login') ? next : '/devices';
}

function sign_in(ctx) {
  if (ctx.session.signed_in) { ctx.navigate(next_path(ctx)); return; }
  const email = h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true,
                             value: ctx.session.email });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const form = busy_form({ 'aria-label': 'Sign in' }, async () => {
    await ctx.session.login(email.value, password.value);
    ctx.navigate(next_path(ctx));
  }, field('Email', email), field('Password', password), h('button', { type: 'submit' }, 'Sign in'));
  const next = ctx.query.get('next') ? `?next=${encodeURIComponent(ctx.query.get('next'))}` : '';
  replace(ctx.root, h('div', { class: 'auth-page' }, h('h1', {}, 'Sign in'), form,
    h('p', { class: 'auth-links' }, h('a', { href: `#/register${next}` }, 'Create an account'),
      h('a', { href: '#/forgot' }, 'Forgot your password?'))));
}

function register(ctx) {
  if (ctx.session.signed_in) { ctx.navigate(next_path(ctx)); return; }
  const email = h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'new-password', required: true });
  const form = busy_form({ 'aria-label': 'Register' }, async () => {
    await ctx.session.register(email.value, password.value);
    await ctx.session.login(email.value, password.value);
    ctx.navigate(next_path(ctx), ['Welcome: your account is ready. Add your first robot.', 'info']);
  }, field('Email', email), field('Password', password, `At least ${min_password} characters; a few words are easy to remember.`),
  h('button', { type: 'submit' }, 'Create account'));
  replace(ctx.root, h('div', { class: 'auth-page' }, h('h1', {}, 'Create an account'), form,
    h('p', { class: 'auth-links' }, 'Already have one? ', h('a', { href: '#/login' }, 'Sign in'))));
}

function forgot(ctx) {
  const email = h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true,
                             value: ctx.session.email });
  const done = h('p', { class: 'done', role: 'status', hidden: true });
  const form = busy_form({ 'aria-label': 'Reset password' }, async () => {
    await session_class.anonymous('POST', '/api/auth/password-reset', { email: email.value });
    // The relay answers the same for every address (no account enumeration), and so do we.
    done.textContent = `If an account exists for ${email.value.trim()}, a link to choose a new password is on its way. `
      + 'It works once, for 30 minutes.';
    done.hidden = false;
  }, field('Email', email), h('button', { type: 'submit' }, 'Send a reset link'));
  replace(ctx.root, h('div', { class: 'auth-page' }, h('h1', {}, 'Forgot your password?'),
    h('p', {}, 'Give the email of your account: the relay sends a link to choose a new password.'), form, done,
    h('p', { class: 'auth-links' }, h('a', { href: '#/login' }, 'Back to sign in'))));
}

function reset(ctx) {
  const token = ctx.query.get('token') ?? '';
  if (!token) {
    replace(ctx.root, h('div', { class: 'auth-page' }, h('h1', {}, 'Choose a new password'),
      h('p', { class: 'error' }, 'This page needs the link from the password-reset message. ',
        h('a', { href: '#/forgot' }, 'Ask for a new link'))));
    return;
  }
  const first = h('input', { type: 'password', name: 'new_password', autocomplete: 'new-password', required: true });
  const second = h('input', { type: 'password', name: 'new_password_again', autocomplete: 'new-password', required: true });
  const form = busy_form({ 'aria-label': 'New password' }, async () => {
    if (first.value !== second.value) {
      notice('The two passwords differ: type the same new password twice.');
      return;
    }
    await session_class.anonymous('POST', '/api/auth/password-reset/confirm', { token, new_password: first.value });
    // Every login of the account ended with the reset, this tab's too.
    if (ctx.session.signed_in) await ctx.session.logout();
    ctx.navigate('/login', ['Your password is changed: sign in with the new one.', 'info']);
  }, field('New password', first, `At least ${min_password} characters.`), field('New password again', second),
  h('button', { type: 'submit' }, 'Change password'));
  replace(ctx.root, h('div', { class: 'auth-page' }, h('h1', {}, 'Choose a new password'),
    h('p', {}, 'Every sign-in of the account ends: sign in again afterwards, on every device.'), form,
    h('p', { class: 'auth-links' }, h('a', { href: '#/forgot' }, 'Ask for a new link'))));
}

async function account(ctx) {
  const trail = h('div', { class: 'audit' }, h('p', { class: 'muted' }, 'Loading…'));
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const understood = h('input', { type: 'checkbox', name: 'understood', required: true });
  const delete_form = busy_form({ 'aria-label': 'Delete account', class: 'stack danger-zone' }, async () => {
    try {
      await ctx.session.delete_account(password.value);
    } catch (error) {
      if (error.code !== 'INVALID_CREDENTIALS') throw error;
      notice('That password is wrong: the account was not deleted.');
    }
  }, h('p', {}, 'Deleting the account removes every robot it owns (they are disconnected), ends the robots shared with it, '
                + 'and signs it out everywhere. It cannot be undone.'),
  field('Your password', password),
  h('label', { class: 'check' }, understood, 'I understand: delete my account and its robots'),
  h('button', { type: 'submit', class: 'danger' }, 'Delete my account'));
  replace(ctx.root, h('h1', {}, 'Your account'),
    h('dl', { class: 'facts' }, h('dt', {}, 'Signed in as'), h('dd', { class: 'account-email' }, ctx.session.email || '—'),
      h('dt', {}, 'User id'), h('dd', {}, h('code', {}, ctx.session.user_id ?? '—'))),
    h('h2', {}, 'What happened on your account'),
    h('p', { class: 'muted' }, 'Sign-ins, failed sign-ins, robots added and shared, newest first.'), trail,
    h('h2', {}, 'Delete the account'), delete_form);
  await audit_table(ctx, '/api/account/audit', trail);
}

export const views = [
  { path: '/login', title: 'Sign in', auth: false, render: sign_in },
  { path: '/register', title: 'Create an account', auth: false, render: register },
  { path: '/forgot', title: 'Forgot your password', auth: false, render: forgot },
  { path: '/reset', title: 'Choose a new password', auth: false, render: reset },
  { path: '/account', title: 'Your account', render: account },
];
