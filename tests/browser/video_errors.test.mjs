// A live view that cannot start or that ends says why in clear words: the robot is offline
// (DEVICE_OFFLINE), "relay only" on a relay without TURN, the robot shutting down during the
// view (its webrtc_close), and ICE that cannot connect (a TURN server that relays to no peer)
// — instead of a spinner that never ends.
import { test } from 'node:test';
import {
  assert, python_robot, scope, launch_browser, check_console, screenshot, robot_online, video_setup, video_page,
  open_console, keep_peer_connections, sign_in, eventually,
} from './harness.mjs';

async function ended(page, timeout = 15000) {
  await page.waitForSelector('.video-status[data-state="ended"]', { timeout });
  assert.equal(await page.isEnabled('#video-start'), true, 'Start is offered again');
  assert.equal(await page.isDisabled('#video-stop'), true);
  return page.textContent('.video-status');
}

/**
 * The Video tab of `device_id` for `email`, its /ws/app going through the test: the link's
 * `sent` and `received` keep every message each way; `on_page(m, forward, link)` may hold or
 * add to what the relay sends the page (it calls `forward()` to pass `m` on), and the link's
 * `to_relay(m)` and `to_page(m)` speak for either side.
 */
async function routed_video_page(browser, relay, email, device_id, on_page, size = 'desktop') {
  const page = await open_console(browser, relay, { size, path: null });
  await keep_peer_connections(page.context());
  const link = { page, sent: [], received: [] };
  await page.routeWebSocket('**/ws/app', (ws) => {
    const server = ws.connectToServer();
    link.to_relay = (m) => server.send(JSON.stringify(m));
    link.to_page = (m) => ws.send(JSON.stringify(m));
    ws.onMessage((message) => {
      link.sent.push(JSON.parse(message));
      server.send(message);
    });
    server.onMessage((message) => {
      const m = JSON.parse(message);
      link.received.push(m);
      on_page(m, () => ws.send(message), link);
    });
  });
  await sign_in(page, email);
  await page.goto(`/console/#/devices/${device_id}/video`);
  await page.waitForSelector('#video-start');
  return link;
}

/** No session of the robot is live on the relay any more. */
async function none_live(relay, token, device_id) {
  let rows = [];
  await eventually(async () => {
    rows = (await relay.http('GET', `/api/devices/${device_id}/sessions`, undefined, token)).body;
    return rows.length > 0 && rows.every((r) => !r.live);
  }, 20000, 'no live session left').catch((error) => {
    error.message += `\n${JSON.stringify(rows)}`;
    throw error;
  });
  return rows;
}

test('offline robot, relay only without TURN: clear words, no session', async () => {
  const t = scope('video-offline');
  let failed = true;
  try {
    // RELAY_TURN_PROVIDER unset (none); the robot starts later.
    const { relay, email, token, device } = await video_setup(t, { device_id: 'rover-3', turn: false, robot: false });
    const browser = t.add(await launch_browser());
    for (const size of ['phone', 'desktop']) {
      const page = await video_page(browser, relay, email, device.device_id, { size });
      assert.match(await page.textContent('.video-status'), /The robot is offline right now/);
      await page.click('#video-start');
      assert.equal(await ended(page), 'Ended: The robot is offline. Start it, then try again.');
      await screenshot(page, `video-offline-${size}`);
      check_console(page);
      await page.context().close();
    }

    // Online, but "relay only" where the relay has no TURN server to hand out.
    const robot = t.add(await python_robot.start(t.dir, relay, device));
    await robot_online(relay, token, device.device_id);
    const page = await video_page(browser, relay, email, device.device_id);
    await page.check('input[name=relay_only]');
    await page.click('#video-start');
    assert.match(await ended(page), /^Ended: "Relay only" needs a TURN server, and this relay hands out none/);
    await page.waitForSelector('.video-history tr[data-session] [data-reason="no_turn_server"]');
    check_console(page);
    // The robot heard the close, and nothing else is open.
    await eventually(() => /closed by app: no_turn_server/.test(robot.process.output()), 10000,
                     'the robot logs the close');
    failed = false;
  } finally {
    await t.cleanup(failed);
  }
});

test('the robot shutting down ends the view with its reason', async () => {
  const t = scope('video-robot-stop');
  let failed = true;
  try {
    const { relay, email, device, robot } = await video_setup(t, { device_id: 'rover-4', robot_args: ['--width', '320', '--height', '240'] });
    const browser = t.add(await launch_browser());
    const page = await video_page(browser, relay, email, device.device_id);
    await page.click('#video-start');
    await page.waitForSelector('.video-status[data-state="live"]', { timeout: 30000 });
    await robot.stop();
    assert.equal(await ended(page), 'Ended: The robot is shutting down.');
    await page.waitForSelector('.video-history tr[data-session] [data-reason="robot_stopping"]');
    await screenshot(page, 'video-robot-stopped-desktop');
    check_console(page);
    failed = false;
  } finally {
    await t.cleanup(failed);
  }
});

test('ICE that cannot connect ends with what it means, not a spinner', async () => {
  const t = scope('video-ice-failed');
  let failed = true;
  try {
    // coturn allocates, but refuses to relay to any peer on this machine: no pair can work.
    const { relay, email, device } = await video_setup(t, { device_id: 'rover-5', robot_args: ['--width', '320', '--height', '240'],
                                                            coturn_flags: ['--denied-peer-ip=0.0.0.0-255.255.255.255'] });
    const browser = t.add(await launch_browser());
    const page = await video_page(browser, relay, email, device.device_id, { size: 'phone' });
    await page.check('input[name=relay_only]');
    const asked = Date.now();
    await page.click('#video-start');
    assert.match(await ended(page, 90000), /^Ended: No network path to the robot worked \(ICE failed\)\. With "Relay only", the TURN server/);
    console.log(`ice failure shown ${Date.now() - asked} ms after Start`);
    await page.waitForSelector('.video-history tr[data-session] [data-reason="ice_failed"]');
    await screenshot(page, 'video-ice-failed-phone');
    check_console(page);
    failed = false;
  } finally {
    await t.cleanup(failed);
  }
});

test('a robot at its session limit: the next viewer is told so, the first keeps watching', async () => {
  const t = scope('video-limit');
  let failed = true;
  try {
    const { relay, email, device } = await video_setup(t, { device_id: 'rover-8', turn: false,
      relay_env: { RELAY_WEBRTC_MAX_PER_DEVICE: '1' }, robot_args: ['--width', '320', '--height', '240'] });
    const browser = t.add(await launch_browser());
    const first = await video_page(browser, relay, email, device.device_id, { start: true });
    await first.waitForSelector('.video-status[data-state="live"]', { timeout: 30000 });
    const second = await video_page(browser, relay, email, device.device_id, { size: 'phone', start: true });
    assert.equal(await ended(second), 'Ended: The robot is already streaming to as many viewers as it can. Try again later.');
    await screenshot(second, 'video-session-limit-phone');
    assert.equal(await first.getAttribute('.video-status', 'data-state'), 'live');
    check_console(second);
    await first.click('#video-stop');
    await ended(first);
    check_console(first);
    failed = false;
  } finally {
    await t.cleanup(failed);
  }
});

test('the current session closed by the robot while a renewal is built: the renewal is closed on the relay too', async () => {
  const t = scope('video-renewal-orphan');
  let failed = true;
  try {
    // RELAY_TURN_TTL=60: the console renews at ~40 s.
    const { relay, email, token, device } = await video_setup(t, { device_id: 'rover-9', ttl: 60,
      robot_args: ['--width', '320', '--height', '240'] });
    const browser = t.add(await launch_browser());
    let renewal = null; // {ref, replaces, session_id}
    const link = await routed_video_page(browser, relay, email, device.device_id, (m, forward, link) => {
      forward();
      const asked = link.sent.find((x) => x.type === 'webrtc_request' && x.replaces);
      if (m.type !== 'webrtc_credentials' || !asked || m.ref !== asked.id) return;
      // The renewal's credentials reached the page: before its video can decode, the session it
      // replaces ends on the relay and, as the robot would say after ICE failed, at the page.
      renewal = { ref: asked.id, replaces: asked.replaces, session_id: m.session_id };
      link.to_relay({ type: 'webrtc_close', session_id: asked.replaces, reason: 'stopped' });
      link.to_page({ type: 'webrtc_close', session_id: asked.replaces, reason: 'ice_failed', by: 'robot' });
    });
    const { page } = link;
    await page.click('#video-start');
    await page.waitForSelector('.video-status[data-state="live"]', { timeout: 30000 });
    await page.waitForSelector('.video-status[data-state="ended"]', { timeout: 75000 });
    assert.ok(renewal, 'a renewal was asked for');
    assert.match(await page.textContent('.video-status'), /^Ended: No network path to the robot worked \(ICE failed\)/);
    // The page closed the renewal it was building: the relay holds no session of the robot.
    await eventually(() => link.sent.find((x) => x.type === 'webrtc_close' && x.session_id === renewal.session_id), 10000,
                     'a webrtc_close for the renewal');
    const close = link.sent.find((x) => x.type === 'webrtc_close' && x.session_id === renewal.session_id);
    assert.equal(close.reason, 'view_ended');
    const rows = await none_live(relay, token, device.device_id);
    assert.equal(rows.find((r) => r.session_id === renewal.session_id)?.end_reason, 'view_ended', JSON.stringify(rows));
    check_console(page);
    failed = false;
  } finally {
    await t.cleanup(failed);
  }
});

test('leaving the tab while the credentials are awaited closes the session as left_view', async () => {
  const t = scope('video-left-early');
  let failed = true;
  try {
    const { relay, email, token, device } = await video_setup(t, { device_id: 'rover-10', turn: false,
      robot_args: ['--width', '320', '--height', '240'] });
    const browser = t.add(await launch_browser());
    let held = null;
    const link = await routed_video_page(browser, relay, email, device.device_id, (m, forward) => {
      if (m.type === 'webrtc_credentials' && !held) held = forward; // until the tab was left
      else forward();
    }, 'phone');
    const { page } = link;
    await page.click('#video-start');
    await eventually(() => held, 20000, 'the credentials, held');
    await page.click('nav.tabs a:text-is("Events")');
    await page.waitForFunction(() => location.hash.endsWith('/events'));
    held();
    const credentials = link.received.find((m) => m.type === 'webrtc_credentials');
    await eventually(() => link.sent.find((x) => x.type === 'webrtc_close' && x.session_id === credentials.session_id), 10000,
                     'a webrtc_close for the session');
    assert.equal(link.sent.find((x) => x.type === 'webrtc_close').reason, 'left_view');
    const rows = await none_live(relay, token, device.device_id);
    assert.equal(rows.find((r) => r.session_id === credentials.session_id)?.end_reason, 'left_view', JSON.stringify(rows));
    check_console(page);
    failed = false;
  } finally {
    await t.cleanup(failed);
  }
});
