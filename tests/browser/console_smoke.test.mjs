// The console is served as relayd's own files: / leads to it, its Content-Security-Policy
// forbids inline script, it loads without a console error and shows the sign-in form.
import { test } from 'node:test';
import { assert, relayd, scope, launch_browser, open_console, check_console, screenshot } from './harness.mjs';

test('relayd serves the console at /console/ and / redirects there', async () => {
  const t = scope('smoke');
  let failed = true;
  try {
    const relay = t.add(await relayd.start(t.dir));
    const root = await fetch(`${relay.url}/`, { redirect: 'manual' });
    assert.equal(root.status, 302);
    assert.equal(root.headers.get('location'), '/console/');
    const index = await fetch(`${relay.url}/console/`);
    assert.equal(index.status, 200);
    assert.match(index.headers.get('content-type'), /^text\/html/);
    assert.match(index.headers.get('content-security-policy'), /script-src 'self'(;|$)/);
    assert.doesNotMatch(index.headers.get('content-security-policy'), /unsafe-inline/);

    const browser = t.add(await launch_browser());
    for (const size of ['phone', 'desktop']) {
      const page = await open_console(browser, relay, { size, path: '/' });
      await page.waitForSelector('input[name=email]');
      assert.match(page.url(), /\/console\/#\/login/);
      await screenshot(page, `sign-in-${size}`);
      check_console(page);
    }
    failed = false;
  } finally {
    await t.cleanup(failed);
  }
});
