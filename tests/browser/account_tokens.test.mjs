// Tokens under stress: two tabs without Web Locks (plain http) refreshing at the same moment, a
// silent refresh the relay refuses once (503), a sign-out while a refresh answer is on its way,
// and a proxy's error page in words. Each fails with the console before these fixes: the login
// was revoked for reuse, the token expired under the socket (TOKEN_EXPIRED), the sign-out was
// undone, the notice stayed empty.
import { test } from 'node:test';
import { assert, relayd, scope, launch_browser, open_console, check_console, check_console_expecting, screenshot,
         sign_in, eventually, sizes } from './harness.mjs';

const email = 'ann@example.com';
const stored = (page, key) => page.evaluate((k) => localStorage.getItem(k), key);

/** Keeps the relay's messages to each /ws/app socket of `page`: {sockets, frames}. */
function watch_sockets(page) {
  const seen = { sockets: [], frames: [] };
  page.on('websocket', (ws) => {
    if (!ws.url().endsWith('/ws/app')) return;
    seen.sockets.push(ws);
    ws.on('framereceived', (f) => { try { seen.frames.push(JSON.parse(f.payload)); } catch { /* binary */ } });
  });
  return seen;
}

test('without Web Locks, two tabs refreshing at the same moment stay signed in (the localStorage lease)', async () => {
  const t = scope('account-tokens-lease');
  let failed = true;
  try {
    const relay = t.add(await relayd.start(t.dir, { RELAY_ACCESS_TTL: '30' }));
    await relay.user(email);
    const browser = t.add(await launch_browser());
    // One person, two tabs, on a page that is no secure context: no navigator.locks.
    const context = await browser.newContext({ ...sizes.desktop, baseURL: relay.url });
    t.add(context);
    await context.addInitScript(() => { delete Navigator.prototype.locks; });
    const tabs = [];
    for (let i = 0; i < 2; i++) {
      const page = await context.newPage();
      page.console_errors = [];
      page.on('console', (m) => { if (m.type() === 'error') page.console_errors.push(`console.error: ${m.text()}`); });
      page.on('pageerror', (e) => page.console_errors.push(`page error: ${e.message}`));
      page.refreshes = 0;
      page.on('request', (r) => { if (r.url().endsWith('/api/auth/refresh')) page.refreshes += 1; });
      page.seen = watch_sockets(page);
      tabs.push(page);
    }
    await tabs[0].goto('/console/');
    assert.equal(await tabs[0].evaluate(() => 'locks' in navigator), false, 'no Web Locks on this page');
    await sign_in(tabs[0], email);
    await tabs[1].goto('/console/#/devices');
    await tabs[1].locator('#sign-out').waitFor();

    // Both reload at once: both restore from the one stored refresh token at the same moment,
    // and their silent refreshes (3/4 of 30 s) come due together after it.
    for (let round = 0; round < 3; round++) {
      await Promise.all(tabs.map((page) => page.reload()));
      for (const page of tabs) await page.locator('#sign-out').waitFor();
    }
    const reloaded_at = Date.now();
    for (const page of tabs) await page.locator('#link[data-state=open]').waitFor();
    const before = tabs.map((page) => page.refreshes);
    await eventually(() => tabs.every((page, i) => page.refreshes > before[i]), 40000, 'both tabs refreshed silently');
    await eventually(() => tabs.every((page) => page.seen.frames.some((f) => f.type === 'auth_renewed')), 20000,
                     'both sockets renewed');
    await eventually(() => Date.now() > reloaded_at + 32000, 40000, 'past the tokens of the reload');

    assert.equal((relay.output().match(/refresh_token_reuse/g) ?? []).length, 0, 'the relay saw no refresh-token reuse');
    for (const page of tabs) {
      assert.ok(!page.url().includes('#/login'), `still signed in: ${page.url()}`);
      await page.locator('#sign-out').waitFor();
      await page.locator('#link[data-state=open]').waitFor();
      assert.deepEqual(page.seen.frames.filter((f) => f.type === 'error'), []);
      assert.equal(await stored(page, 'relay.refresh_lease'), null, 'the lease was given back');
    }
    // Both still work against the API with what they hold.
    await tabs[1].goto('/console/#/account');
    await tabs[1].locator('.account-email', { hasText: email }).waitFor();
    await screenshot(tabs[1], 'account-lease-desktop');
    for (const page of tabs) check_console(page);
    failed = false;
  } finally {
    await t.cleanup(failed);
  }
});

test('a silent refresh the relay refuses once (503) is tried again in time, and a token that came during auth renews the socket', async () => {
  const t = scope('account-tokens-retry');
  let failed = true;
  try {
    const relay = t.add(await relayd.start(t.dir, { RELAY_ACCESS_TTL: '30' }));
    await relay.user(email);
    const browser = t.add(await launch_browser());
    const page = await open_console(browser, relay, { size: 'phone', path: null });

    // The first refresh meets a proxy's 503 page; the rest go through.
    const refreshes = [];
    await page.route('**/api/auth/refresh', async (route) => {
      refreshes.push(Date.now());
      if (refreshes.length === 1) {
        await route.fulfill({ status: 503, contentType: 'text/html', body: '<html><body>503 Service Temporarily Unavailable</body></html>' });
      } else {
        const response = await route.fetch();
        await route.fulfill({ response });
        refreshes.ok = true;
      }
    });
    // The socket's auth_ok is held until the refreshed token exists: it comes while the socket
    // is authenticating, and must still be sent once the socket is.
    const link = { connections: 0, frames: [], held: [], release: false };
    await page.routeWebSocket('**/ws/app', (ws) => {
      link.connections += 1;
      const server = ws.connectToServer();
      ws.onMessage((message) => server.send(message));
      server.onMessage((message) => {
        const m = JSON.parse(message);
        link.frames.push(m);
        if (m.type === 'auth_ok' && !link.release) link.held.push(() => ws.send(message));
        else ws.send(message);
      });
    });
    await page.goto('/console/');
    await sign_in(page, email);
    const signed_in_at = Date.now();
    await eventually(() => link.held.length === 1, 10000, 'auth_ok held');

    await eventually(() => refreshes.ok, 40000, 'a second refresh, after the 503');
    assert.ok(refreshes.length >= 2, `refreshes: ${refreshes.length}`);
    assert.ok(refreshes[1] < signed_in_at + 30000, 'the second try came before the first token expired');
    link.release = true;
    for (const send of link.held.splice(0)) send();
    await eventually(() => link.frames.some((f) => f.type === 'auth_renewed'), 10000, 'the socket renewed with the new token');
    await page.locator('#link[data-state=open]').waitFor();
    await screenshot(page, 'account-retried-phone');

    // Past the first token's expiry: the same socket, never closed for TOKEN_EXPIRED.
    await eventually(() => Date.now() > signed_in_at + 33000, 40000, 'past the first token');
    assert.deepEqual(link.frames.filter((f) => f.type === 'error'), []);
    assert.equal(link.connections, 1, 'one socket all along');
    await page.locator('#link[data-state=open]').waitFor();
    assert.ok(!page.url().includes('#/login'), 'still signed in');
    check_console_expecting(page, [503]);
    failed = false;
  } finally {
    await t.cleanup(failed);
  }
});

test('signing out while a refresh answer is on its way stays signed out, and forgets the email', async () => {
  const t = scope('account-tokens-signout');
  let failed = true;
  try {
    const relay = t.add(await relayd.start(t.dir));
    await relay.user(email);
    const browser = t.add(await launch_browser());
    const page = await open_console(browser, relay, { size: 'desktop', path: null });
    // The relay closes the socket with 4401 when the test says so: the console refreshes at once.
    const link = { current: null };
    await page.routeWebSocket('**/ws/app', (ws) => {
      link.current = ws;
      const server = ws.connectToServer();
      ws.onMessage((message) => server.send(message));
      server.onMessage((message) => ws.send(message));
    });
    // That refresh reaches the relay (the token rotates), but its answer is held.
    let answered;
    const held = new Promise((resolve) => { answered = resolve; });
    const refresh = { arrived: false, delivered: false };
    await page.route('**/api/auth/refresh', async (route) => {
      const response = await route.fetch();
      refresh.arrived = true;
      await held;
      await route.fulfill({ response });
      refresh.delivered = true;
    });
    await page.goto('/console/');
    await sign_in(page, email);
    assert.equal(await stored(page, 'relay.email'), email);
    await page.locator('#link[data-state=open]').waitFor();

    await link.current.close({ code: 4401, reason: 'token ended' });
    await eventually(() => refresh.arrived, 10000, 'the refresh reached the relay');
    await page.click('#sign-out');
    await page.waitForSelector('form[aria-label="Sign in"]');
    answered();
    await eventually(() => refresh.delivered, 10000, 'the refresh answer reached the page');
    // The answer must not sign in again: give the page its turn, then look.
    await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 200)));
    assert.equal(await stored(page, 'relay.refresh_token'), null, 'no refresh token stored');
    assert.equal(await stored(page, 'relay.email'), null, 'the email is forgotten on sign-out');
    await page.reload();
    await page.waitForSelector('form[aria-label="Sign in"]');
    assert.equal(await page.inputValue('input[name=email]'), '', 'the sign-in form does not offer the email');
    assert.equal(await page.locator('#sign-out').count(), 0);
    await screenshot(page, 'account-signed-out-desktop');
    check_console(page);
    failed = false;
  } finally {
    await t.cleanup(failed);
  }
});

test("a proxy's error page (502, 503 HTML, no status text) is shown in words; a busy relay at start keeps the login", async () => {
  const t = scope('account-tokens-words');
  let failed = true;
  try {
    const relay = t.add(await relayd.start(t.dir));
    const token = await relay.user(email);
    await relay.device(token, 'Kitchen robot', 'wimz-001');
    const browser = t.add(await launch_browser());
    for (const size of ['phone', 'desktop']) {
      const page = await open_console(browser, relay, { size, path: null });
      await page.goto('/console/');
      await sign_in(page, email);
      await page.locator('#sign-out').waitFor();

      // One robot page's call meets nginx's 502 page.
      let bad_gateway = 0;
      await page.route(/\/api\/devices\/wimz-001\/audit/, async (route) => {
        if (bad_gateway++ > 0) return route.continue();
        await route.fulfill({ status: 502, contentType: 'text/html', body: '<html><center><h1>502 Bad Gateway</h1></center></html>' });
      });
      await page.goto('/console/#/devices/wimz-001');
      await page.locator('main h1', { hasText: 'Kitchen robot' }).waitFor();
      await eventually(() => bad_gateway > 0, 10000, 'the 502 was served');
      await page.locator('text=The relay, or the proxy in front of it, is unavailable. Try again shortly.').first().waitFor();
      await screenshot(page, `account-bad-gateway-${size}`);

      // At start the refresh meets a 503 page: the sign-in page says so in words, and the login
      // is kept for next time.
      let busy = 0;
      await page.route('**/api/auth/refresh', async (route) => {
        if (busy++ > 0) return route.continue();
        await route.fulfill({ status: 503, contentType: 'text/html', body: '<html><body>503</body></html>' });
      });
      await page.reload();
      await page.waitForSelector('form[aria-label="Sign in"]');
      await page.locator('#notice:not([hidden])', { hasText: 'unavailable' }).waitFor();
      assert.equal(busy, 1);
      assert.notEqual(await stored(page, 'relay.refresh_token'), null, 'a busy relay is no sign-out');
      // No answer at all at start: the sign-in page says so in the console's words (not the
      // browser's "Failed to fetch"), and the login is kept too.
      await page.unroute('**/api/auth/refresh');
      let unreachable = 0;
      await page.route('**/api/auth/refresh', (route) => (unreachable++ > 0 ? route.continue() : route.abort()));
      await page.reload();
      await page.waitForSelector('form[aria-label="Sign in"]');
      await page.locator('#notice:not([hidden])', { hasText: 'The relay cannot be reached. Check your connection.' }).waitFor();
      assert.equal(unreachable, 1);
      assert.notEqual(await stored(page, 'relay.refresh_token'), null, 'an unreachable relay is no sign-out');
      await page.reload();
      await page.locator('#sign-out').waitFor();
      // The browser itself logs the aborted request; nothing else may be on the console.
      page.console_errors = page.console_errors.filter((e) => !/net::ERR_FAILED/.test(e));
      check_console_expecting(page, [502, 503]);
    }
    failed = false;
  } finally {
    await t.cleanup(failed);
  }
});
