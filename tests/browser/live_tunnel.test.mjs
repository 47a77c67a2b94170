// The Tunnel tab against robot-agent --local-api and a small HTTP server standing for the
// robot's API (started here): presets, method/path/query/JSON body, the answer's status,
// headers and body (pretty JSON, text from body_b64, an image's size), the robot's own 404
// told apart from the relay's refusals, and PATH_NOT_ALLOWED, DEVICE_TIMEOUT, BODY_TOO_LARGE,
// DEVICE_OFFLINE in words; a viewer may only GET.
import { test } from 'node:test';
import http from 'node:http';
import { assert, scope, launch_browser, check_console, screenshot, robot_online, owner_with_robot, add_viewer,
         signed_in_page, assert_fits_phone, tab_to, eventually } from './harness.mjs';

const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

/** The robot's local API: what robot-agent forwards tunnelled requests to. */
async function robot_api() {
  const seen = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, body, type: req.headers['content-type'] });
      const json = (status, value) => {
        res.writeHead(status, { 'Content-Type': 'application/json', 'X-Robot': 'wimz' });
        res.end(JSON.stringify(value));
      };
      const route = `${req.method} ${req.url.split('?')[0]}`;
      if (route === 'GET /status') return json(200, { battery: 80, mode: 'auto', docked: false });
      if (route === 'GET /missions/available') return json(200, [{ id: 'patrol', name: 'Patrol the garden' }, { id: 'fetch', name: 'Fetch the ball' }]);
      if (route === 'POST /missions/start') return json(201, { started: JSON.parse(body), query: req.url.split('?')[1] ?? '' });
      if (route === 'GET /mode' || route === 'POST /mode') return json(200, { mode: body ? JSON.parse(body).mode : 'auto' });
      if (route === 'GET /programs/available') return json(404, { error: 'no programs on this robot' });
      if (route === 'GET /reports/weekly') {
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
        return res.end('Weekly report\nWalks: 12\nDistance: 8.4 km — a good week\n');
      }
      if (route === 'GET /reports/trends') {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        return res.end(JSON.stringify({ points: 'x'.repeat(5000) }));
      }
      if (route === 'GET /photos/last.png') {
        res.writeHead(200, { 'Content-Type': 'image/png' });
        return res.end(png);
      }
      if (route === 'GET /photos/slow.png') {
        return setTimeout(() => {
          res.writeHead(200, { 'Content-Type': 'image/png' });
          res.end(png);
        }, 1000);
      }
      if (route === 'GET /missions/status') return setTimeout(() => json(200, { late: true }), 5000);
      return json(404, { error: 'no such path' });
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, seen,
           close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }) };
}

async function call(page, method, path, { query = '', body = '' } = {}) {
  await page.selectOption('select[name="method"]', method);
  await page.fill('input[name="path"]', path);
  await page.fill('input[name="query"]', query);
  if (body) await page.fill('textarea[name="body"]', body);
  await page.click('form.tunnel-form button[type="submit"]');
  await page.waitForSelector('.tunnel-answer :is(.tunnel-status, .tunnel-error)', { timeout: 20000 });
  // The answer to this request (the button is enabled again once it is in).
  await page.waitForSelector('form.tunnel-form button[type="submit"]:not([disabled])');
}

const status_of = (page) => page.getAttribute('.tunnel-status', 'data-status');
const error_of = async (page) => ({ code: await page.getAttribute('.tunnel-error', 'data-code'),
                                    text: await page.textContent('.tunnel-error') });
const header_value = (page, name) => page.textContent(`table.headers tr:has(th:text-is("${name}")) td`);

test('the REST tunnel: presets, answers with status, headers and body, and every refusal in words', async () => {
  const t = scope('live-tunnel');
  let failed = true;
  try {
    const api = t.add(await robot_api());
    const email = 'owner@live-tunnel.test';
    const { relay, token, device, agent } = await owner_with_robot(t, email, 'Yard robot', 'yard-1', {
      env: { RELAY_TUNNEL_TIMEOUT: '2', RELAY_TUNNEL_BODY_MAX: '4096' }, agent: { local_api: api.url } });
    const browser = t.add(await launch_browser());
    const page = await signed_in_page(browser, relay, email, { frames: true, at: `/devices/${device.device_id}/tunnel` });
    await page.waitForSelector('form.tunnel-form');

    // A preset, sent with the keyboard: GET /status → pretty JSON, status and headers.
    await tab_to(page, '.presets button:text-is("Status")');
    await page.keyboard.press('Enter');
    await tab_to(page, 'form.tunnel-form button[type="submit"]');
    await page.keyboard.press('Enter');
    await page.waitForSelector('.tunnel-status');
    assert.equal(await status_of(page), '200');
    assert.match(await page.textContent('.tunnel-status strong'), /^200 OK$/);
    assert.equal(await header_value(page, 'X-Robot'), 'wimz');
    assert.match(await header_value(page, 'Content-Type'), /^application\/json/);
    assert.equal(await page.getAttribute('.tunnel-answer pre', 'data-body'), 'json');
    assert.equal(await page.textContent('.tunnel-answer pre'), JSON.stringify({ battery: 80, mode: 'auto', docked: false }, null, 2));
    const sent = page.ws_sent.find((m) => m.type === 'http_request');
    assert.deepEqual({ method: sent.method, path: sent.path }, { method: 'GET', path: '/status' }, 'the socket\'s http_request');

    // Missions preset; then POST with a query and a JSON body, echoed by the robot.
    await page.click('.presets button:text-is("Missions")');
    assert.equal(await page.inputValue('input[name="path"]'), '/missions/available');
    await page.click('form.tunnel-form button[type="submit"]');
    await page.waitForSelector('.tunnel-answer h2:text-is("GET /missions/available")');
    assert.equal(JSON.parse(await page.textContent('.tunnel-answer pre')).length, 2);
    await page.click('.presets button:text-is("Start mission")');
    assert.equal(await page.inputValue('select[name="method"]'), 'POST');
    await call(page, 'POST', '/missions/start', { query: 'dry_run=1', body: '{"mission": "patrol", "speed": 0.4}' });
    assert.equal(await status_of(page), '201');
    assert.deepEqual(JSON.parse(await page.textContent('.tunnel-answer pre')),
                     { started: { mission: 'patrol', speed: 0.4 }, query: 'dry_run=1' });
    assert.match(api.seen.at(-1).type, /^application\/json/);
    await screenshot(page, 'live-tunnel-desktop');

    // A body that is not JSON is refused before sending.
    const before = page.ws_sent.length;
    await page.selectOption('select[name="method"]', 'POST');
    await page.fill('input[name="path"]', '/mode');
    await page.fill('input[name="query"]', '');
    await page.fill('textarea[name="body"]', '{"mode": manual}');
    await page.click('form.tunnel-form button[type="submit"]');
    assert.match(await page.textContent('#tunnel-body-error'), /^The body is not valid JSON: .+\. Nothing was sent\.$/);
    await page.fill('textarea[name="body"]', '{"mode": "manual"}');
    await page.click('form.tunnel-form button[type="submit"]');
    await page.waitForSelector('.tunnel-answer h2:text-is("POST /mode")');
    await page.waitForSelector('.tunnel-status');
    assert.deepEqual(JSON.parse(await page.textContent('.tunnel-answer pre')), { mode: 'manual' });
    assert.equal(page.ws_sent.slice(before).filter((m) => m.type === 'http_request').length, 1, 'only the valid one went out');

    // Text in body_b64 is shown as text; an image as its size (and the image).
    await call(page, 'GET', '/reports/weekly');
    assert.equal(await page.getAttribute('.tunnel-answer pre', 'data-body'), 'text');
    assert.equal(await page.textContent('.tunnel-answer pre'), 'Weekly report\nWalks: 12\nDistance: 8.4 km — a good week\n');
    await call(page, 'GET', '/photos/last.png');
    assert.equal(await page.textContent('[data-body="binary"]'), `${png.length} bytes of binary data (image/png).`);
    assert.equal(await page.evaluate(() => document.querySelector('.tunnel-image').complete
                                           && document.querySelector('.tunnel-image').naturalWidth), 1);

    // The robot's own 404 is an answer, not a relay error.
    await call(page, 'GET', '/programs/available');
    assert.equal(await status_of(page), '404');
    assert.match(await page.textContent('.tunnel-status strong'), /^404 Not Found$/);

    // The relay's refusals, in words.
    await call(page, 'GET', '/admin/users');
    assert.deepEqual(await error_of(page), { code: 'PATH_NOT_ALLOWED', text: 'The relay does not tunnel that path to robots.' });
    await screenshot(page, 'live-tunnel-refused-desktop');
    await call(page, 'PUT', '/mode', { body: '{"mode": "auto"}' });
    assert.equal((await error_of(page)).code, 'PATH_NOT_ALLOWED');
    await call(page, 'GET', '/missions/status');
    assert.deepEqual(await error_of(page), { code: 'DEVICE_TIMEOUT', text: 'The robot did not answer in time.' });
    await call(page, 'GET', '/reports/trends');
    assert.deepEqual(await error_of(page), { code: 'BODY_TOO_LARGE', text: 'That body is larger than the relay accepts.' });
    check_console(page);

    // Phone: an answer at 360 px.
    const phone = await signed_in_page(browser, relay, email, { size: 'phone', at: `/devices/${device.device_id}/tunnel` });
    await phone.click('.presets button:text-is("Status")');
    await call(phone, 'GET', '/status');
    assert.equal(await status_of(phone), '200');
    await assert_fits_phone(phone);
    await screenshot(phone, 'live-tunnel-phone');
    check_console(phone);

    // A viewer: GET only (the form offers nothing else), and it works.
    const viewer_email = 'viewer@live-tunnel.test';
    await add_viewer(relay, token, device.device_id, viewer_email);
    const viewer = await signed_in_page(browser, relay, viewer_email, { at: `/devices/${device.device_id}/tunnel` });
    await viewer.waitForSelector('form.tunnel-form');
    assert.deepEqual(await viewer.$$eval('select[name="method"] option', (o) => o.map((x) => x.value)), ['GET']);
    assert.equal(await viewer.locator('.presets button:text-is("Start mission")').count(), 0);
    await call(viewer, 'GET', '/status');
    assert.equal(await status_of(viewer), '200');
    check_console(viewer);

    // The tab is left while an image is on its way: its answer makes no blob URL that nobody
    // revokes (URL.createObjectURL / revokeObjectURL counted by an init script).
    const left = await signed_in_page(browser, relay, email, { frames: true });
    await left.context().addInitScript(() => {
      window.blob_urls = { made: 0, revoked: 0 };
      const make = URL.createObjectURL;
      const revoke = URL.revokeObjectURL;
      URL.createObjectURL = (x) => { window.blob_urls.made += 1; return make(x); };
      URL.revokeObjectURL = (x) => { window.blob_urls.revoked += 1; return revoke(x); };
    });
    await left.reload();
    await left.goto(`/console/#/devices/${device.device_id}/tunnel`);
    await left.fill('input[name="path"]', '/photos/last.png');
    await left.click('form.tunnel-form button[type="submit"]');
    await left.waitForSelector('.tunnel-image');
    assert.deepEqual(await left.evaluate(() => window.blob_urls), { made: 1, revoked: 0 });
    await left.fill('input[name="path"]', '/photos/slow.png');
    await left.click('form.tunnel-form button[type="submit"]');
    await left.click('nav.tabs a:text-is("Events")');
    await left.waitForSelector('ol.feed', { state: 'attached' });
    await eventually(() => left.ws_frames.filter((m) => m.type === 'http_response').length === 2, 10000,
                     'the slow answer reached the page');
    // Barrier: an event sent after it on the same socket is in the feed, so the answer was handled.
    agent.send_event('after_the_answer');
    await left.locator('ol.feed', { hasText: 'after_the_answer' }).waitFor({ timeout: 10000 });
    const counts = await left.evaluate(() => window.blob_urls);
    assert.equal(counts.made, counts.revoked, JSON.stringify(counts));
    check_console(left);

    // The robot goes offline.
    await agent.stop();
    await robot_online(relay, token, device.device_id, false);
    await call(page, 'GET', '/status');
    assert.deepEqual(await error_of(page), { code: 'DEVICE_OFFLINE', text: 'The robot is offline. Start it, then try again.' });
    check_console(page);
    failed = false;
  } finally {
    await t.cleanup(failed);
  }
});
