// Live video in the console: the Python robot's test pattern through a real coturn with the
// browser's ICE policy "relay", decoded by Chromium (its own getStats()), the panel's path,
// stats, Stop, and the session in the robot's history. Prints time to first frame, fps and RTT.
import { test } from 'node:test';
import {
  assert, scope, launch_browser, check_console, screenshot, eventually, peer_stats, video_setup, video_page, stop_video,
} from './harness.mjs';

test('relay-only live video: frames decoded, relayed through TURN, stats, stop, history', async () => {
  const t = scope('video-live');
  let failed = true;
  try {
    const { relay, email, device, robot } = await video_setup(t, { device_id: 'rover-1' });

    const browser = t.add(await launch_browser());
    for (const size of ['phone', 'desktop']) {
      const page = await video_page(browser, relay, email, device.device_id, { size });
      assert.equal(await page.isChecked('input[name=relay_only]'), false, 'relay only is off by default');

      let asked;
      if (size === 'desktop') {
        // Keyboard only: Tab to the checkbox, Space ticks it, Tab back to Start, Enter.
        await eventually(async () => {
          await page.keyboard.press('Tab');
          return page.evaluate(() => document.activeElement?.name === 'relay_only');
        }, 10000, 'the relay-only checkbox reached with Tab');
        await page.keyboard.press('Space');
        assert.equal(await page.isChecked('input[name=relay_only]'), true);
        await eventually(async () => {
          await page.keyboard.press('Shift+Tab');
          return page.evaluate(() => document.activeElement?.id === 'video-start');
        }, 5000, 'Start reached with Shift+Tab');
        asked = Date.now();
        await page.keyboard.press('Enter');
      } else {
        await page.check('input[name=relay_only]');
        asked = Date.now();
        await page.click('#video-start');
      }

      // The browser itself decodes the robot's frames, on a relay-only peer connection.
      const first = await eventually(async () => (await peer_stats(page)).find((p) => p.frames_decoded > 0),
                                     30000, 'framesDecoded > 0 in Chromium');
      const first_frame_ms = Date.now() - asked;
      assert.equal(first.policy, 'relay');
      await page.waitForSelector('.video-status[data-state="live"]');
      await page.waitForFunction(() => document.querySelector('[data-stat="path"]')?.textContent === 'relayed through TURN');
      assert.equal(await page.textContent('[data-stat="candidates"]').then((s) => s.split(' / ')[0]), 'relay');
      // A few seconds of playing: the panel counts frames and measures bitrate and RTT.
      await page.waitForFunction(() => Number(document.querySelector('[data-stat="frames"]')?.textContent) >= 60, null, { timeout: 30000 });
      await page.waitForFunction(() => /kbit|Mbit/.test(document.querySelector('[data-stat="bitrate"]')?.textContent)
        && / ms$/.test(document.querySelector('[data-stat="rtt"]')?.textContent), null, { timeout: 15000 });
      const playing = await page.evaluate(() => {
        const v = document.querySelector('video');
        return { width: v.videoWidth, time: v.currentTime, paused: v.paused };
      });
      assert.ok(playing.width > 0 && !playing.paused, JSON.stringify(playing));
      const browser_view = (await peer_stats(page)).at(-1);
      const panel = Object.fromEntries(await page.$$eval('[data-stat]', (cells) => cells.map((c) => [c.dataset.stat, c.textContent])));
      console.log(`video ${size}: first frame ${first_frame_ms} ms after Start; Chromium: ${browser_view.fps} fps, ` +
                  `rtt ${browser_view.rtt_ms} ms, pair ${browser_view.local_type}/${browser_view.remote_type}; panel ${JSON.stringify(panel)}`);
      const session_id = panel.session;
      assert.match(session_id, /^s_/);
      await screenshot(page, `video-live-${size}`);

      await page.click('#video-stop');
      await page.waitForSelector('.video-status[data-state="ended"]');
      assert.equal(await page.textContent('.video-status'), 'Ended: Stopped.');
      assert.equal(await page.evaluate(() => document.querySelector('video').srcObject), null);
      // The history shows the session: through TURN, ended with a reason.
      const row = `.video-history tr[data-session="${session_id}"]`;
      await page.waitForFunction((sel) => {
        const tr = document.querySelector(sel);
        return tr && tr.querySelector('[data-reason]')?.dataset.reason !== '';
      }, row, { timeout: 15000 });
      assert.equal(await page.getAttribute(`${row} [data-type]`, 'data-type'), 'relay');
      assert.equal(await page.getAttribute(`${row} [data-reason]`, 'data-reason'), 'stopped');
      await screenshot(page, `video-stopped-${size}`);

      if (size === 'desktop') {
        // Leaving the tab closes the session; so does signing out (the socket closes with it).
        const live_session = async () => {
          await page.click('#video-start');
          await page.waitForSelector('.video-status[data-state="live"]', { timeout: 30000 });
          return page.textContent('[data-stat="session"]');
        };
        const left = await live_session();
        await page.click('nav.tabs a:text-is("Events")');
        await eventually(() => robot.process.output().includes(`session ${left} closed by app: left_view`), 15000,
                         'the robot hears left_view');
        await page.goto(`/console/#/devices/${device.device_id}/video`);
        const signed_out = await live_session();
        await page.click('#sign-out');
        await page.waitForFunction(() => location.hash.startsWith('#/login'));
        await eventually(() => robot.process.output().includes(`session ${signed_out} closed by relay: app_disconnected`), 15000,
                         'the relay ends the session of a signed-out console');
        assert.equal(await page.evaluate(() => window.test_peers.every((pc) => pc.connectionState === 'closed')), true);
      }
      check_console(page);
      await page.context().close();
    }
    failed = false;
  } finally {
    await t.cleanup(failed);
  }
});

test('without relay only, a robot on the same network is watched directly', async () => {
  const t = scope('video-direct');
  let failed = true;
  try {
    // No TURN at all: only host candidates, so the pair can only be direct.
    const { relay, email, device } = await video_setup(t, { device_id: 'rover-7', turn: false,
                                                            robot_args: ['--width', '320', '--height', '240'] });
    const browser = t.add(await launch_browser());
    const page = await video_page(browser, relay, email, device.device_id, { start: true });
    const seen = await eventually(async () => (await peer_stats(page)).find((p) => p.frames_decoded > 0 && p.local_type),
                                  30000, 'framesDecoded > 0 in Chromium');
    assert.equal(seen.policy, 'all');
    assert.notEqual(seen.local_type, 'relay');
    assert.notEqual(seen.remote_type, 'relay');
    await page.waitForFunction(() => document.querySelector('[data-stat="path"]')?.textContent === 'direct');
    const session_id = await page.textContent('[data-stat="session"]');
    await page.waitForSelector(`.video-history tr[data-session="${session_id}"] [data-type]:not([data-type=""])`);
    const type = await page.getAttribute(`.video-history tr[data-session="${session_id}"] [data-type]`, 'data-type');
    assert.ok(['host', 'srflx', 'prflx'].includes(type), type);
    console.log(`video direct: pair ${seen.local_type}/${seen.remote_type}, history ${type}`);
    await screenshot(page, 'video-direct-desktop');
    await stop_video(page);
    failed = false;
  } finally {
    await t.cleanup(failed);
  }
});
