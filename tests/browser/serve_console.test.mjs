// The console as relayd serves it, seen from Chromium (docs/console.md, "Serving"): the browser
// enforces the Content-Security-Policy the relay sends, a reload revalidates every file with
// 304s, and a password-reset link from the relay's log opens the console at its #/reset route
// (the reset form itself is the account views' and their tests').
import { test } from 'node:test';
import { assert, eventually, relayd, scope, launch_browser, open_console, check_console, screenshot } from './harness.mjs';

test('Chromium enforces the console CSP: no eval, no injected inline script or style, no other origin', async () => {
  const t = scope('serve-csp');
  let failed = true;
  try {
    const relay = t.add(await relayd.start(t.dir));
    const browser = t.add(await launch_browser());
    for (const size of ['phone', 'desktop']) {
      const page = await open_console(browser, relay, { size });
      await page.waitForSelector('input[name=email]');
      check_console(page); // the console itself loads without a violation
      // What an injected payload would try; each is refused by the browser under the relay's policy.
      // (page.evaluate itself is DevTools code, exempt from CSP: the probes make the page act.)
      const tried = await page.evaluate(async (other_origin) => {
        const violations = [];
        document.addEventListener('securitypolicyviolation', (e) => violations.push(e.effectiveDirective));
        const out = {};
        window.probe = {};
        setTimeout('window.probe.string_timer = true', 0);
        const button = document.createElement('button');
        button.setAttribute('onclick', 'window.probe.handler = true');
        document.body.append(button);
        button.click();
        button.remove();
        const inline = document.createElement('script');
        inline.textContent = 'window.probe.inline_script = true;';
        document.body.append(inline);
        const data = document.createElement('script');
        data.src = 'data:text/javascript,window.probe.data_script=true';
        document.body.append(data);
        const probe = document.createElement('div');
        probe.setAttribute('style', 'color: rgb(1, 2, 3)');
        document.body.append(probe);
        out.inline_style = getComputedStyle(probe).color === 'rgb(1, 2, 3)' ? 'applied' : 'blocked';
        probe.remove();
        const sheet = document.createElement('style');
        sheet.textContent = 'body { outline: 7px solid rgb(4, 5, 6) }';
        document.head.append(sheet);
        out.style_element = getComputedStyle(document.body).outlineColor === 'rgb(4, 5, 6)' ? 'applied' : 'blocked';
        sheet.remove();
        try { await fetch(other_origin); out.fetch = 'reached'; } catch (e) { out.fetch = e.name; }
        // Give the timer and the script elements their turn (a barrier: a same-origin script that
        // is allowed runs after them, in order).
        await new Promise((resolve) => setTimeout(resolve, 0));
        await new Promise((resolve) => { const ok = document.createElement('script'); ok.src = 'js/errors.js'; ok.type = 'module'; ok.onload = resolve; ok.onerror = resolve; document.body.append(ok); });
        out.ran = Object.keys(window.probe).sort();
        out.violations = [...new Set(violations)].sort();
        return out;
      }, `http://localhost:${relay.port}/health`);
      assert.deepEqual(tried.ran, [], `ran despite the policy: ${tried.ran}`);
      assert.equal(tried.inline_style, 'blocked');
      assert.equal(tried.style_element, 'blocked');
      assert.equal(tried.fetch, 'TypeError');
      for (const directive of ['connect-src', 'script-src', 'script-src-attr', 'script-src-elem', 'style-src-attr', 'style-src-elem']) {
        assert.ok(tried.violations.includes(directive), `no ${directive} violation in ${tried.violations}`);
      }
      // The refusals above are the only errors: each is the browser reporting the policy at work.
      assert.ok(page.console_errors.length >= 6, page.console_errors.join('\n'));
      for (const e of page.console_errors) assert.match(e, /Content Security Policy|Failed to fetch|net::ERR/, e);
      page.console_errors.length = 0;
      await screenshot(page, `serve-csp-${size}`);
      check_console(page);
      await page.context().close();
    }
    failed = false;
  } finally {
    await t.cleanup(failed);
  }
});

test('a reload revalidates every console file: 304 for each, and the console works as before', async () => {
  const t = scope('serve-reload');
  let failed = true;
  try {
    const relay = t.add(await relayd.start(t.dir));
    const browser = t.add(await launch_browser());
    const page = await open_console(browser, relay, { size: 'desktop' });
    await page.waitForSelector('input[name=email]');
    const before = relay.output().length;
    // A reload revalidates (no-cache + ETag): relayd answers 304 and the browser uses its copy.
    await page.reload();
    await page.waitForSelector('input[name=email]');
    const requests = () => [...relay.output().slice(before).matchAll(/http_request method=GET path=(\/console\/\S*) status=(\d+)/g)];
    await eventually(() => requests().some((m) => m[1] === '/console/js/views/video.js'), 10000, 'the views requested again');
    const got = requests();
    assert.ok(got.length >= 10, got.map((m) => m[1]).join(' '));
    for (const [, file, status] of got) assert.equal(status, '304', `${file} answered ${status}`);
    check_console(page);
    failed = false;
  } finally {
    await t.cleanup(failed);
  }
});

test('the password-reset link from the relay log opens the console at #/reset with its token', async () => {
  const t = scope('serve-reset-link');
  let failed = true;
  try {
    const relay = t.add(await relayd.start(t.dir));
    // RELAY_PUBLIC_URL is this relay's address as the browser reaches it: known once it listens,
    // so it restarts on the same port with it.
    relay.env.RELAY_PUBLIC_URL = relay.url;
    await relay.stop();
    await relay.start(relay.port);
    const email = 'reset@example.com';
    await relay.user(email);
    assert.equal((await relay.http('POST', '/api/auth/password-reset', { email })).status, 202);
    const link = await eventually(() => /password_reset_link="([^"]+)"/.exec(relay.output())?.[1], 10000, 'the link in the log');
    assert.match(link, new RegExp(`^${relay.url.replace(/[.]/g, '\\.')}/console/#/reset\\?token=[A-Za-z0-9_-]{43}$`));
    const browser = t.add(await launch_browser());
    for (const size of ['phone', 'desktop']) {
      const page = await open_console(browser, relay, { size, path: null });
      await page.goto(link);
      await page.waitForFunction(() => document.querySelector('main#view')?.childElementCount > 0);
      assert.equal(new URL(page.url()).pathname, '/console/');
      assert.equal(new URL(page.url()).hash, new URL(link).hash);
      // The console's router sees the token as the query of its #/reset route (views read ctx.query).
      const token = await page.evaluate(() => new URLSearchParams(location.hash.split('?')[1]).get('token'));
      assert.equal(token, new URL(link).hash.split('token=')[1]);
      await screenshot(page, `serve-reset-link-${size}`);
      check_console(page);
      await page.context().close();
    }
    failed = false;
  } finally {
    await t.cleanup(failed);
  }
});
