// Accounts in the console: register (signed in at once), sign out, sign in by keyboard only with
// ?next=, the answers' words (WEAK_PASSWORD, EMAIL_TAKEN, INVALID_CREDENTIALS, 429 with when to
// try again, REGISTRATION_CLOSED, NETWORK), the password reset from request to the link's page,
// the account page with its audit trail, and deleting the account.
import { test } from 'node:test';
import path from 'node:path';
import { assert, relayd, scope, launch_browser, open_console, check_console, check_console_expecting, screenshot, sign_in,
         reset_token, focused, tab_to, focus_visible, assert_fits } from './harness.mjs';

const password = 'correct horse battery staple';
const notice_text = (page) => page.locator('#notice').textContent();

async function notice_says(page, pattern) {
  await page.locator('#notice', { hasText: pattern }).waitFor();
}

test('register, sign out, sign in by keyboard, reset the password, delete the account', async () => {
  const t = scope('account-auth');
  let failed = true;
  try {
    const relay = t.add(await relayd.start(t.dir));
    const browser = t.add(await launch_browser());
    const phone = await open_console(browser, relay, { size: 'phone', path: '/console/#/register' });
    await phone.waitForSelector('form[aria-label=Register]');
    await screenshot(phone, 'account-register-phone');
    await assert_fits(phone);

    // A weak password: the relay's rule, in words.
    await phone.fill('input[name=email]', 'ann@example.com');
    await phone.fill('input[name=password]', 'short');
    await phone.click('form button[type=submit]');
    await notice_says(phone, 'That password is too weak: use a longer one.');

    // Registered and signed in at once: the empty robot list leads to adding one.
    await phone.fill('input[name=password]', password);
    await phone.click('form button[type=submit]');
    await phone.waitForFunction(() => location.hash === '#/devices');
    await notice_says(phone, 'Welcome');
    await phone.locator('.empty a', { hasText: 'Add a robot' }).waitFor();
    await phone.locator('#link[data-state=open]').waitFor();
    await screenshot(phone, 'account-registered-phone');
    await assert_fits(phone);
    check_console_expecting(phone, [400, 401]);

    // The same email again, from another person's browser.
    const desktop = await open_console(browser, relay, { size: 'desktop', path: '/console/#/register' });
    await screenshot(desktop, 'account-register-desktop');
    await desktop.fill('input[name=email]', ' Ann@Example.com ');
    await desktop.fill('input[name=password]', password);
    await desktop.click('form button[type=submit]');
    await notice_says(desktop, 'An account with that email already exists');

    // Sign out (the nav's button), then a wrong password.
    await phone.click('#sign-out');
    await phone.waitForSelector('form[aria-label="Sign in"]');
    assert.equal(await phone.evaluate(() => localStorage.getItem('relay.refresh_token')), null);
    // Signing out forgets the email too (a shared computer): the form does not offer it.
    assert.equal(await phone.inputValue('input[name=email]'), '');
    await phone.fill('input[name=email]', 'ann@example.com');
    await phone.fill('input[name=password]', 'not the password at all');
    await phone.click('form button[type=submit]');
    await notice_says(phone, 'That email and password do not match an account.');
    await screenshot(phone, 'account-sign-in-error-phone');
    check_console_expecting(phone, [400, 401]);

    // Keyboard only, at desktop size: a page that needs a sign-in sends to the form with
    // ?next=, the email field has the focus, Tab walks the form in order, Enter submits.
    await desktop.goto('/console/#/account');
    await desktop.waitForFunction(() => location.hash === '#/login?next=%2Faccount');
    await desktop.waitForSelector('form[aria-label="Sign in"]');
    // The shell focuses the page's content after drawing it: the first Tab is the form's.
    assert.match(await focused(desktop), /^main:/);
    assert.deepEqual(await tab_to(desktop, 'a:Forgot your password?'),
                     ['input[name=email]', 'input[name=password]', 'button:Sign in', 'a:Create an account', 'a:Forgot your password?']);
    assert.ok(await focus_visible(desktop), 'the focused link shows a focus ring');
    await desktop.reload();
    await desktop.waitForSelector('form[aria-label="Sign in"]');
    await screenshot(desktop, 'account-sign-in-desktop');
    await desktop.keyboard.press('Tab');
    assert.equal(await focused(desktop), 'input[name=email]');
    await desktop.keyboard.type('ann@example.com');
    await desktop.keyboard.press('Tab');
    await desktop.keyboard.type(password);
    await desktop.keyboard.press('Enter');
    await desktop.waitForFunction(() => location.hash === '#/account');

    // The account page: who, and the trail (the failed sign-in is there).
    await desktop.locator('.account-email', { hasText: 'ann@example.com' }).waitFor();
    await desktop.locator('.audit-table td', { hasText: 'Failed sign-in' }).waitFor();
    await desktop.locator('.audit-table td', { hasText: 'Signed in' }).first().waitFor();
    await screenshot(desktop, 'account-page-desktop');
    check_console_expecting(desktop, [401, 409]);

    // Forgot the password: the same words whether or not the account exists.
    await phone.goto('/console/#/forgot');
    await phone.fill('input[name=email]', 'nobody@example.com');
    await phone.click('form button[type=submit]');
    await phone.locator('p.done', { hasText: 'nobody@example.com' }).waitFor();
    const unknown = await phone.locator('p.done').textContent();
    await phone.fill('input[name=email]', 'ann@example.com');
    await phone.click('form button[type=submit]');
    await phone.locator('p.done', { hasText: 'ann@example.com' }).waitFor();
    const known = await phone.locator('p.done').textContent();
    assert.equal(known.replace('ann@example.com', 'X'), unknown.replace('nobody@example.com', 'X'));
    assert.match(known, /^If an account exists for ann@example\.com, a link to choose a new password is on its way/);
    await screenshot(phone, 'account-forgot-phone');
    await assert_fits(phone);

    // The link's page: the two passwords must match; then the password changes, and the other
    // browser's login ends with it (the relay closes its socket: it says why).
    const token = await reset_token(relay, 'ann@example.com');
    await phone.goto(`/console/#/reset?token=${token}`);
    await phone.fill('input[name=new_password]', 'a much better passphrase');
    await phone.fill('input[name=new_password_again]', 'a much better passphrasf');
    await phone.click('form button[type=submit]');
    await notice_says(phone, 'The two passwords differ');
    await phone.fill('input[name=new_password_again]', 'a much better passphrase');
    await screenshot(phone, 'account-reset-phone');
    await phone.click('form button[type=submit]');
    await phone.waitForSelector('form[aria-label="Sign in"]');
    await notice_says(phone, 'Your password is changed: sign in with the new one.');
    await desktop.waitForSelector('form[aria-label="Sign in"]', { timeout: 20000 });
    await notice_says(desktop, 'Your sign-in has ended. Please sign in again.');
    check_console_expecting(desktop, [401, 409]);

    // The link works once.
    await phone.goto(`/console/#/reset?token=${token}`);
    await phone.fill('input[name=new_password]', 'yet another passphrase');
    await phone.fill('input[name=new_password_again]', 'yet another passphrase');
    await phone.click('form button[type=submit]');
    await notice_says(phone, 'That reset link is invalid, already used or expired. Ask for a new one.');

    // The new password signs in; the old one does not.
    await sign_in(phone, 'ann@example.com', 'a much better passphrase');

    // Delete the account: the wrong password refuses, the right one signs out for good.
    await phone.goto('/console/#/account');
    await phone.locator('.account-email', { hasText: 'ann@example.com' }).waitFor();
    await phone.locator('.audit-table td', { hasText: 'Password changed with a reset link' }).waitFor();
    await screenshot(phone, 'account-page-phone');
    await assert_fits(phone);
    await phone.fill('form[aria-label="Delete account"] input[name=password]', password);
    await phone.check('input[name=understood]');
    await phone.click('form[aria-label="Delete account"] button[type=submit]');
    await notice_says(phone, 'That password is wrong: the account was not deleted.');
    await phone.fill('form[aria-label="Delete account"] input[name=password]', 'a much better passphrase');
    await phone.click('form[aria-label="Delete account"] button[type=submit]');
    await phone.waitForSelector('form[aria-label="Sign in"]');
    await notice_says(phone, 'Your account has been deleted');
    assert.equal((await relay.http('POST', '/api/auth/login', { email: 'ann@example.com', password: 'a much better passphrase' })).status, 401);
    check_console_expecting(phone, [400, 401]);
    failed = false;
  } finally {
    await t.cleanup(failed);
  }
});

test('throttled sign-in says when to try again; closed registration and an unreachable relay in words', async () => {
  const t = scope('account-errors');
  let failed = true;
  try {
    const relay = t.add(await relayd.start(t.dir));
    await relay.user('tom@example.com');
    const browser = t.add(await launch_browser());
    const page = await open_console(browser, relay, { size: 'phone', path: '/console/#/login' });
    await page.fill('input[name=email]', 'tom@example.com');
    await page.fill('input[name=password]', 'wrong password number 1');
    // Five failures lock the account for a minute (docs/api.md, "Throttling").
    for (let i = 0; i < 5; i++) {
      await page.click('form button[type=submit]');
      await notice_says(page, 'do not match an account');
      await page.evaluate(() => { document.getElementById('notice').hidden = true; document.getElementById('notice').textContent = ''; });
    }
    await page.fill('input[name=password]', password);
    await page.click('form button[type=submit]');
    await notice_says(page, /Too many requests: wait a moment, then try again\. You can try again in 60 seconds \(at .+\)\./);
    await screenshot(page, 'account-throttled-phone');
    await assert_fits(page);
    check_console_expecting(page, [401, 429]);

    const closed = t.add(await relayd.start(path.join(t.dir, 'closed'), { RELAY_OPEN_REGISTRATION: 'false' }));
    const desktop = await open_console(browser, closed, { size: 'desktop', path: '/console/#/register' });
    await desktop.fill('input[name=email]', 'ann@example.com');
    await desktop.fill('input[name=password]', password);
    await desktop.click('form button[type=submit]');
    await notice_says(desktop, 'This relay does not take new accounts. Ask its operator for one.');
    await screenshot(desktop, 'account-registration-closed-desktop');

    await closed.stop();
    await desktop.click('form button[type=submit]');
    await notice_says(desktop, 'The relay cannot be reached. Check your connection.');
    // The browser itself logs the refused connection; nothing else may be on the console.
    desktop.console_errors = desktop.console_errors.filter((e) => !/ERR_CONNECTION_REFUSED/.test(e));
    check_console_expecting(desktop, [403]);
    assert.match(await notice_text(desktop), /cannot be reached/);
    failed = false;
  } finally {
    await t.cleanup(failed);
  }
});
