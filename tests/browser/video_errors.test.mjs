// A live view that cannot start or that ends says why in clear words: the robot is offline
// (DEVICE_OFFLINE), "relay only" on a relay without TURN, the robot shutting down during the
// view (its webrtc_close), and ICE that cannot connect (a TURN server that relays to no peer)
// — instead of a spinner that never ends.
import { test } from 'node:test';
import {
  assert, python_robot, scope, launch_browser, check_console, screenshot, robot_online, video_setup, video_page,
} from './harness.mjs';

async function ended(page, timeout = 15000) {
  await page.waitForSelector('.video-status[data-state="ended"]', { timeout });
  assert.equal(await page.isEnabled('#video-start'), true, 'Start is offered again');
  assert.equal(await page.isDisabled('#video-stop'), true);
  return page.textContent('.video-status');
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
    assert.match(robot.process.output(), /closed by app: no_turn_server/);
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
