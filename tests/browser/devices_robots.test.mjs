// Robots in the console, end to end with a real robot-agent: add one by keyboard, its secret shown
// once with a working copy button and the command lines; the robot started with the secret and
// command READ FROM THE PAGE goes online in the open list without a reload and shows what it
// announced; rename; rotate (the robot is disconnected, the page says so, the new secret works);
// the robot's audit trail; remove. And a robot with a public key instead of a secret.
import { test } from 'node:test';
import path from 'node:path';
import fs from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { assert, relayd, scope, launch_browser, open_console, check_console, check_console_expecting, screenshot,
         sign_in, proc, require_env, focused, tab_to, eventually, assert_fits, watch_frames, robot_agent, sleep, shown_command } from './harness.mjs';

/** Runs the build-tree robot-agent command the page shows, as a person would paste it. */
function start_shown_agent(t, command, name, extra = [], cwd = t.dir) {
  assert.equal(command.program, 'build/examples/robot-agent/robot-agent');
  const env = { ...process.env };
  if (command.secret) env.RELAY_DEVICE_SECRET = command.secret;
  return t.add(new proc([require_env('RELAY_TEST_ROBOT_AGENT'), ...command.args, ...extra], path.join(t.dir, `${name}.log`),
                        { env, cwd, stdin: 'pipe' }));
}

test('add a robot by keyboard, start it with the shown command, rename, rotate, remove', async () => {
  const t = scope('devices-robots');
  let failed = true;
  try {
    const relay = t.add(await relayd.start(t.dir));
    await relay.user('ann@example.com');
    const browser = t.add(await launch_browser());
    const page = await open_console(browser, relay, { size: 'desktop', path: null });
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: relay.url });
    await sign_in(page, 'ann@example.com');
    await page.locator('.empty', { hasText: 'You have no robots yet' }).waitFor();
    await screenshot(page, 'devices-empty-desktop');

    // Keyboard only: Tab to "Add a robot", Enter; the form's fields in order; Enter submits.
    await tab_to(page, 'a:Add a robot');
    await page.keyboard.press('Enter');
    await page.waitForSelector('form[aria-label="Add a robot"]');
    assert.deepEqual(await tab_to(page, 'button:Add robot'),
                     ['input[name=name]', 'input[name=device_id]', 'input[name=use_key]', 'button:Add robot']);
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Shift+Tab');
    assert.equal(await focused(page), 'input[name=name]');
    await page.keyboard.type('Kitchen robot');
    await page.keyboard.press('Tab');
    await page.keyboard.type('wimz-001');
    await page.keyboard.press('Enter');

    // The secret, once, with the warning, a copy button that copies it, and the commands.
    await page.locator('.secret-panel .warning', { hasText: 'Copy the secret now: it is not shown again.' }).waitFor();
    const secret = (await page.locator('pre[data-copy=secret]').textContent()).trim();
    assert.match(secret, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(await focused(page), 'button:Copy secret', 'the focus moves to the secret\'s copy button');
    await page.keyboard.press('Enter');
    await page.locator('.copy-block .copied', { hasText: 'Copied.' }).first().waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
    const agent_cmd = await shown_command(page, 'robot-agent');
    assert.equal(agent_cmd.text, `RELAY_DEVICE_SECRET='${secret}' robot-agent --relay ${relay.url} --device-id wimz-001`);
    const py_cmd = await shown_command(page, 'robot-py');
    assert.equal(py_cmd.text, `PYTHONPATH=build/python RELAY_DEVICE_SECRET='${secret}' /usr/bin/python3 examples/python-robot/robot.py --relay ${relay.url} --device-id wimz-001`);
    await page.click('button:has-text("Copy robot-agent command")');
    await page.locator('.copy-block .copied', { hasText: 'Copied.' }).nth(1).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), agent_cmd.text);
    await screenshot(page, 'devices-added-desktop');
    const build_cmd = await shown_command(page, 'robot-agent-build');
    assert.equal(build_cmd.secret, secret);

    // The list, open while the robot starts: it turns online without a reload.
    await page.click('a:has-text("All robots")');
    const card = page.locator('li[data-device=wimz-001]');
    await card.locator('.dot[data-online=false]').waitFor();
    await card.locator('.presence', { hasText: 'offline · never connected' }).waitFor();
    await page.evaluate(() => { window.still_the_same_page = true; });
    const agent = start_shown_agent(t, build_cmd, 'agent-1', ['--capabilities', '{"camera":true,"arm":false}', '--firmware', '2.4.1']);
    await card.locator('.dot[data-online=true]').waitFor({ timeout: 20000 });
    await card.locator('.presence', { hasText: 'online' }).waitFor();
    await card.locator('.caps li', { hasText: 'camera' }).waitFor({ timeout: 20000 });
    assert.equal(await page.evaluate(() => window.still_the_same_page), true, 'no reload');
    await screenshot(page, 'devices-list-desktop');

    // The overview: what it announced, its role; the owner's tools.
    await card.locator('a', { hasText: 'Kitchen robot' }).click();
    const facts = page.locator('dl.facts');
    await facts.locator('dd.capabilities li', { hasText: 'no arm' }).waitFor();
    await facts.locator('dd', { hasText: '2.4.1' }).waitFor();
    await facts.locator('dd', { hasText: 'owner' }).waitFor();
    await facts.locator('dd', { hasText: 'a secret' }).waitFor();
    await page.locator('main h1 .dot[data-online=true]').waitFor();

    // Rename: the header and the store follow.
    await page.fill('form[aria-label=Rename] input[name=name]', 'Hall robot');
    await page.click('form[aria-label=Rename] button[type=submit]');
    await page.locator('main h1', { hasText: 'Hall robot' }).waitFor();

    // Rotate: confirm, the new secret once with its commands, the robot disconnected (live).
    await page.click('button:has-text("Rotate secret…")');
    await page.click('button:has-text("Yes, make a new secret")');
    await page.locator('.panel .warning', { hasText: 'The robot was disconnected: start it again with the new secret.' }).waitFor();
    await page.locator('main h1 .dot[data-online=false]').waitFor({ timeout: 20000 });
    await facts.locator('dd.presence', { hasText: 'offline · last seen' }).waitFor();
    const rotated = await shown_command(page, 'robot-agent-build');
    assert.notEqual(rotated.secret, secret);
    await screenshot(page, 'devices-rotated-desktop');
    await agent.stop();
    const agent2 = start_shown_agent(t, rotated, 'agent-2');
    await page.locator('main h1 .dot[data-online=true]').waitFor({ timeout: 20000 });

    // The robot's trail (owner).
    await eventually(async () => {
      await page.click('.audit button:has-text("Refresh")');
      await page.locator('.audit-table tbody tr').first().waitFor();
      const text = await page.locator('.audit-table').textContent();
      return ['Robot added', 'Robot renamed', 'Robot secret rotated'].every((what) => text.includes(what));
    }, 20000, 'the rename and the rotation in the robot\'s trail', 500);
    await screenshot(page, 'devices-overview-desktop');

    // Remove: confirm, back to the list, gone; the robot is closed.
    await page.click('button:has-text("Remove robot…")');
    await page.locator('.confirm p', { hasText: 'Remove Hall robot?' }).waitFor();
    await page.click('button:has-text("Yes, remove it")');
    await page.waitForFunction(() => location.hash === '#/devices');
    await page.locator('#notice', { hasText: 'Hall robot is removed.' }).waitFor();
    await page.locator('.empty', { hasText: 'You have no robots yet' }).waitFor();
    assert.equal((await relay.http('GET', '/api/devices/wimz-001', undefined, await relay.user('ann@example.com'))).status, 404);
    await agent2.stop();
    check_console(page);
    failed = false;
  } finally {
    await t.cleanup(failed);
  }
});

test('at phone size: a robot without an id, a robot with a public key, and the answers in words', async () => {
  const t = scope('devices-keys');
  let failed = true;
  try {
    const relay = t.add(await relayd.start(t.dir));
    await relay.user('ann@example.com');
    const browser = t.add(await launch_browser());
    const page = await open_console(browser, relay, { size: 'phone', path: null });
    await sign_in(page, 'ann@example.com');
    await page.locator('.empty a', { hasText: 'Add a robot' }).waitFor();
    await screenshot(page, 'devices-empty-phone');
    await assert_fits(page);

    // No id: the relay picks one, and the commands name it.
    await page.click('.empty a:has-text("Add a robot")');
    await page.fill('input[name=name]', 'Garden robot');
    await screenshot(page, 'devices-add-phone');
    await assert_fits(page);
    await page.click('form[aria-label="Add a robot"] button[type=submit]');
    await page.locator('.secret-panel').waitFor();
    const garden = await shown_command(page, 'robot-agent');
    const garden_id = garden.args[garden.args.indexOf('--device-id') + 1];
    assert.match(garden_id, /^dev-[0-9a-f]{32}$/);
    await screenshot(page, 'devices-added-phone');
    await assert_fits(page);

    // A public key instead of a secret: the commands use the key file.
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const raw_public = publicKey.export({ format: 'jwk' }).x;
    fs.writeFileSync(path.join(t.dir, 'device-key.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    await page.click('button:has-text("Add another robot")');
    await page.fill('input[name=name]', 'Key robot');
    await page.fill('input[name=device_id]', 'key-001');
    await page.check('input[name=use_key]');
    await page.fill('textarea[name=public_key]', 'not a key');
    await page.click('form[aria-label="Add a robot"] button[type=submit]');
    await page.locator('#notice', { hasText: /^The request was not understood: .*public_key/ }).waitFor();
    await page.fill('textarea[name=public_key]', raw_public);
    await page.click('form[aria-label="Add a robot"] button[type=submit]');
    await page.locator('.secret-panel', { hasText: 'there is no secret' }).waitFor();
    assert.equal(await page.locator('pre[data-copy=secret]').count(), 0);
    const key_cmd = await shown_command(page, 'robot-agent-build');
    assert.equal(key_cmd.secret, null);
    assert.equal(key_cmd.text, `build/examples/robot-agent/robot-agent --relay ${relay.url} --device-id key-001 --key-file device-key.pem`);
    const agent = start_shown_agent(t, key_cmd, 'agent-key', [], t.dir); // device-key.pem is in t.dir

    // The same id again: DEVICE_EXISTS in words.
    await page.click('button:has-text("Add another robot")');
    await page.fill('input[name=name]', 'Another');
    await page.fill('input[name=device_id]', 'key-001');
    await page.click('form[aria-label="Add a robot"] button[type=submit]');
    await page.locator('#notice', { hasText: 'A robot with that id already exists.' }).waitFor();

    // The list: the key robot online, the garden robot never seen.
    await page.goto('/console/#/devices');
    await page.locator('li[data-device=key-001] .dot[data-online=true]').waitFor({ timeout: 20000 });
    await page.locator(`li[data-device=${garden_id}] .presence`, { hasText: 'never connected' }).waitFor();
    await screenshot(page, 'devices-list-phone');
    await assert_fits(page);

    // The key robot's overview; then the garden robot moves from its secret to a key.
    await page.click('li[data-device=key-001] a');
    await page.locator('dl.facts dd', { hasText: 'an Ed25519 key' }).waitFor();
    await page.locator('dl.facts dd.capabilities li').first().waitFor({ timeout: 20000 });
    await screenshot(page, 'devices-overview-phone');
    await assert_fits(page);
    await page.goto(`/console/#/devices/${garden_id}`);
    await page.click('summary:has-text("Use a public key instead of a secret")');
    await page.fill('form[aria-label="Set a public key"] textarea', generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x);
    await page.click('form[aria-label="Set a public key"] button[type=submit]');
    await page.locator('.panel .secret-panel h2', { hasText: 'The robot now signs in with its key' }).waitFor();
    await page.locator('dl.facts dd', { hasText: 'an Ed25519 key' }).waitFor();
    await screenshot(page, 'devices-key-set-phone');
    await assert_fits(page);
    await agent.stop();
    check_console_expecting(page, [400, 409]);
    failed = false;
  } finally {
    await t.cleanup(failed);
  }
});

test('a robot that connects while the list is being read shows online (the answer is older than the event)', async () => {
  const t = scope('devices-presence-race');
  let failed = true;
  try {
    const relay = t.add(await relayd.start(t.dir));
    const token = await relay.user('bea@example.com');
    const device = await relay.device(token, 'Hall robot', 'hall-1');
    const browser = t.add(await launch_browser());
    const page = await open_console(browser, relay, { size: 'phone', path: null });
    watch_frames(page);
    // The first GET /api/devices is read from the relay at once (the robot offline) but
    // answered only after the robot connected and the page's socket heard robot_connected.
    let held = 0;
    await page.route('**/api/devices', async (route) => {
      if (route.request().method() !== 'GET' || held++ > 0) return route.continue();
      const response = await route.fetch();
      const stale = await response.json();
      assert.equal(stale.find((d) => d.device_id === 'hall-1')?.online, false);
      try {
        await eventually(() => page.ws_frames.find((m) => m.type === 'auth_ok'), 20000, 'the socket signed in');
        t.add(await robot_agent.start(t.dir, relay, device));
        await eventually(() => page.ws_frames.find((m) => m.event === 'robot_connected' && m.device_id === 'hall-1'), 20000,
                         'robot_connected at the page');
      } finally {
        await route.fulfill({ response, json: stale });
      }
    });
    await sign_in(page, 'bea@example.com');
    const card = page.locator('li.robot[data-device="hall-1"]');
    await card.waitFor({ timeout: 20000 });
    assert.equal(held, 1, 'the list was read once, and answered late');
    await card.locator('.dot[data-online=true]').waitFor({ timeout: 10000 });
    await card.locator('.presence', { hasText: 'online' }).waitFor();
    await screenshot(page, 'devices-presence-race-phone');
    check_console(page);
    failed = false;
  } finally {
    await t.cleanup(failed);
  }
});

test('a view that throws while it draws leaves a notice in words, not an uncaught error', async () => {
  const t = scope('devices-view-throws');
  let failed = true;
  try {
    const relay = t.add(await relayd.start(t.dir));
    const token = await relay.user('cai@example.com');
    const device = await relay.device(token, 'Porch robot', 'porch-1');
    const browser = t.add(await launch_browser());
    const page = await open_console(browser, relay, { size: 'desktop', path: null });
    // The shell's contract is what is tested: its Sharing view is replaced by one whose render
    // throws (as any view's could on data it did not expect).
    await page.route('**/console/js/views/sharing.js', (route) => route.fulfill({
      contentType: 'text/javascript; charset=utf-8',
      body: "export const views = [{ path: '/devices/:id/sharing', title: 'Sharing', tab: 'sharing', label: 'Sharing', "
        + "role: 'owner', render() { throw new Error('the view broke'); } }];\n",
    }));
    await sign_in(page, 'cai@example.com');
    await page.goto(`/console/#/devices/${device.device_id}/sharing`);
    await page.locator('#notice', { hasText: 'This page could not be shown: the view broke' }).waitFor();
    // The other pages still work, and the notice goes with the next page.
    await page.click('nav.tabs a:text-is("Overview")');
    await page.locator('dl.facts').waitFor();
    assert.equal(await page.isHidden('#notice'), true);
    check_console(page);
    failed = false;
  } finally {
    await t.cleanup(failed);
  }
});

test('last seen only moves forward: events replayed after the list was read do not set it back', async () => {
  const t = scope('devices-last-seen');
  let failed = true;
  try {
    const relay = t.add(await relayd.start(t.dir));
    const token = await relay.user('dee@example.com');
    const device = await relay.device(token, 'Gate robot', 'gate-1');
    const agent = t.add(await robot_agent.start(t.dir, relay, device));
    await eventually(async () => (await relay.http('GET', '/api/devices/gate-1', undefined, token)).body.online, 20000, 'online');
    const browser = t.add(await launch_browser());
    // A first page sees the ticks arrive: the relay keeps them for the next page's resume.
    const witness = await open_console(browser, relay, { path: null });
    watch_frames(witness);
    await sign_in(witness, 'dee@example.com');
    await eventually(() => witness.ws_frames.find((m) => m.type === 'auth_ok'), 20000, 'the witness signed in');
    for (let n = 1; n <= 3; n++) agent.send_event('tick', { n });
    await eventually(() => witness.ws_frames.filter((m) => m.event === 'tick').length === 3, 20000, 'the ticks at the relay');
    check_console(witness);
    await witness.context().close();
    // The disconnect is later than the ticks by more than the second the list shows.
    await sleep(1500);
    await agent.stop();
    await eventually(async () => !(await relay.http('GET', '/api/devices/gate-1', undefined, token)).body.online, 20000, 'offline');
    const last_seen = (await relay.http('GET', '/api/devices/gate-1', undefined, token)).body.last_seen;

    // The console's resume (the replay of the kept ticks) is held until the list was drawn.
    const page = await open_console(browser, relay, { size: 'desktop', path: null });
    const held = [];
    let hold = true;
    let replayed = 0;
    let resumed = false;
    await page.routeWebSocket('**/ws/app', (ws) => {
      const server = ws.connectToServer();
      ws.onMessage((message) => {
        if (hold && JSON.parse(message).type === 'resume') held.push(() => server.send(message));
        else server.send(message);
      });
      server.onMessage((message) => {
        const m = JSON.parse(message);
        ws.send(message);
        if (m.event === 'tick') replayed += 1;
        if (m.type === 'resumed') resumed = true;
      });
    });
    await sign_in(page, 'dee@example.com');
    const shown = await page.evaluate(async (ts) => (await import('/console/js/ui.js')).when(ts), last_seen);
    const presence = page.locator('li.robot[data-device="gate-1"] .presence');
    await presence.filter({ hasText: `last seen ${shown}` }).waitFor({ timeout: 20000 });
    await eventually(() => held.length > 0, 20000, 'the resume, held');
    hold = false;
    for (const send of held.splice(0)) send();
    await eventually(() => resumed, 20000, 'the replay, and the relay\'s resumed after it, passed to the page');
    // The page takes the messages passed to it (playwright's routeWebSocket) before this
    // evaluate, and a change is drawn within the next animation frame; the list is not left,
    // since showing it again reads it again.
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    assert.equal(replayed, 3);
    assert.equal(await presence.textContent(), `offline · last seen ${shown}`);
    check_console(page);
    failed = false;
  } finally {
    await t.cleanup(failed);
  }
});

test('events of a robot not in the list: one read of the list per few seconds, one redraw per frame', async () => {
  const t = scope('devices-unknown-reads');
  let failed = true;
  try {
    const relay = t.add(await relayd.start(t.dir));
    const owner = await relay.user('eve@example.com');
    const device = await relay.device(owner, 'Barn robot', 'barn-1');
    const agent = t.add(await robot_agent.start(t.dir, relay, device));
    await eventually(async () => (await relay.http('GET', '/api/devices/barn-1', undefined, owner)).body.online, 20000, 'online');
    await relay.user('fay@example.com');
    const browser = t.add(await launch_browser());
    const page = await open_console(browser, relay, { size: 'phone', path: null });
    // The relay's messages pass through the test; `batch` holds events to hand them over at once.
    const frames = [];
    let batch = null;
    await page.routeWebSocket('**/ws/app', (ws) => {
      const server = ws.connectToServer();
      ws.onMessage((message) => server.send(message));
      server.onMessage((message) => {
        const m = JSON.parse(message);
        frames.push(m);
        if (batch && m.type === 'event') batch.push(m);
        else ws.send(message);
      });
      page.send_batch = () => {
        // Each a millisecond after the last, as a robot sending quickly would have them.
        const base = Date.parse(batch[0].ts);
        for (const [i, m] of batch.entries()) ws.send(JSON.stringify({ ...m, ts: new Date(base + i).toISOString() }));
        batch = null;
      };
    });
    let reads = 0;
    let failing = false;
    await page.route('**/api/devices', (route) => {
      if (route.request().method() !== 'GET') return route.continue();
      reads += 1;
      if (!failing) return route.continue();
      return route.fulfill({ status: 503, json: { error: { code: 'SERVICE_UNAVAILABLE', message: 'held down by the test' } } });
    });
    await sign_in(page, 'fay@example.com');
    await page.locator('.empty', { hasText: 'You have no robots yet' }).waitFor();

    // Shared while the list read fails: ten events, one every 150 ms, read the list once.
    failing = true;
    reads = 0;
    const shared = await relay.http('POST', '/api/devices/barn-1/members', { email: 'fay@example.com', role: 'viewer' }, owner);
    assert.equal(shared.status, 201, JSON.stringify(shared.body));
    const pings = () => frames.filter((m) => m.event === 'ping').length;
    await eventually(async () => {
      agent.send_event('ping');
      await sleep(150);
      return pings() > 0;
    }, 20000, 'events of the shared robot at the page');
    const first = pings();
    for (let i = 0; i < 9; i++) {
      agent.send_event('ping');
      await sleep(150);
    }
    await eventually(() => pings() === first + 9, 20000, 'ten events at the page');
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(resolve)));
    assert.ok(reads >= 1 && reads <= 2, `the list was read ${reads} times for ${first + 9} events`);

    // The relay answers again: the read that was due brings the robot.
    failing = false;
    const card = page.locator('li.robot[data-device="barn-1"]');
    await card.waitFor({ timeout: 20000 });
    check_console_expecting(page, [503]);

    // Forty events handed over at once redraw the list once or so, not forty times.
    await page.evaluate(() => {
      window.list_draws = 0;
      new MutationObserver((records) => {
        for (const r of records) for (const n of r.addedNodes) if (n.classList?.contains('robot-list')) window.list_draws += 1;
      }).observe(document.getElementById('view'), { childList: true, subtree: true });
    });
    const before = pings();
    batch = [];
    for (let i = 0; i < 40; i++) agent.send_event('ping');
    await eventually(() => pings() === before + 40, 20000, 'forty more events from the relay');
    page.send_batch();
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    const draws = await page.evaluate(() => window.list_draws);
    assert.ok(draws >= 1 && draws <= 5, `the list was drawn ${draws} times for 40 events`);
    await card.waitFor();
    check_console(page);
    failed = false;
  } finally {
    await t.cleanup(failed);
  }
});
