// Silent refresh: with 30-second access tokens (RELAY_ACCESS_TTL's minimum) the console renews
// its tokens by itself, before they expire: past the first token's lifetime an API action works
// without signing in again, /api/auth/refresh was asked, the one socket was renewed in place
// (the relay answered auth_renewed) and never closed for an expired token (4401).
import { test } from 'node:test';
import { assert, relayd, scope, launch_browser, open_console, check_console, screenshot, sign_in,
         eventually } from './harness.mjs';

const jwt_claims = (token) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());

test('the console refreshes its 30 s tokens and renews its socket silently', async () => {
  const t = scope('account-refresh');
  let failed = true;
  try {
    const relay = t.add(await relayd.start(t.dir, { RELAY_ACCESS_TTL: '30' }));
    const token = await relay.user('ann@example.com');
    await relay.device(token, 'Kitchen robot', 'wimz-001');
    const browser = t.add(await launch_browser());
    const page = await open_console(browser, relay, { size: 'desktop', path: null });

    const sockets = [];
    const frames = [];
    page.on('websocket', (ws) => {
      sockets.push(ws);
      ws.on('framereceived', (f) => { try { frames.push(JSON.parse(f.payload)); } catch { /* binary */ } });
    });
    const refreshes = [];
    const unauthorized = [];
    page.on('request', (r) => { if (r.url().endsWith('/api/auth/refresh')) refreshes.push(Date.now()); });
    page.on('response', (r) => { if (r.status() === 401) unauthorized.push(r.url()); });

    await sign_in(page, 'ann@example.com');
    const signed_in_at = Date.now();
    await page.locator('#link[data-state=open]').waitFor();

    // The refresh comes at three quarters of the lifetime, and the socket takes the new token.
    await eventually(() => frames.some((f) => f.type === 'auth_renewed'), 40000, 'auth_renewed on the socket');
    assert.ok(refreshes.length >= 1, '/api/auth/refresh was requested');
    assert.ok(refreshes[0] - signed_in_at < 30000, 'the refresh came before the first token expired');

    // Past the first token's lifetime (and the socket's expiry), an API action still works.
    const first_expiry = signed_in_at + 30000;
    await eventually(() => Date.now() > first_expiry + 2000, 40000, 'the first token expired');
    const rename = page.waitForRequest((r) => r.method() === 'PATCH' && r.url().endsWith('/api/devices/wimz-001'));
    await page.evaluate(() => { location.hash = '#/devices/wimz-001'; }); // no reload: the same page
    await page.fill('form[aria-label=Rename] input[name=name]', 'Hall robot');
    await page.click('form[aria-label=Rename] button[type=submit]');
    const used = jwt_claims((await rename).headers().authorization.replace(/^Bearer /, ''));
    assert.ok(used.exp * 1000 > Date.now(), 'the rename used a token that has not expired');
    await page.locator('p.done', { hasText: 'Renamed to Hall robot.' }).waitFor();
    await page.locator('main h1', { hasText: 'Hall robot' }).waitFor();
    assert.ok(page.url().includes('#/devices/wimz-001'), 'still signed in');

    // One socket all along, never told its token expired.
    assert.equal(sockets.length, 1, 'the console kept its first socket');
    assert.ok(!sockets[0].isClosed(), 'the socket is open');
    assert.deepEqual(frames.filter((f) => f.type === 'error'), []);
    assert.deepEqual(unauthorized, []);
    await page.locator('#link[data-state=open]').waitFor();
    await screenshot(page, 'account-refreshed-desktop');
    await page.setViewportSize({ width: 360, height: 740 });
    await screenshot(page, 'account-refreshed-phone');
    check_console(page);
    failed = false;
  } finally {
    await t.cleanup(failed);
  }
});
