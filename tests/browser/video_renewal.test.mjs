// A live view outlives its TURN credentials (protocol decision 28): RELAY_TURN_TTL=60, so at
// 40 s the console asks for a session that `replaces` the first, switches the video to it once
// Chromium decodes its frames, and closes the old one with reason "replaced". Frames keep being
// decoded on the new peer connection, and the history ends the old session "replaced".
// Two viewers at once (phone and desktop: two people), each renewing its own session.
import { test } from 'node:test';
import { randomBytes } from 'node:crypto';
import {
  assert, scope, launch_browser, screenshot, eventually, peer_stats, video_setup, video_page, stop_video,
} from './harness.mjs';

/** Watches the <video>: the longest time between two presented frames, from now on. */
function watch_frames(page) {
  return page.evaluate(() => {
    const video = document.querySelector('video');
    window.frame_gaps = { last: null, max_ms: 0, frames: 0 };
    const on_frame = (now) => {
      const g = window.frame_gaps;
      if (g.last !== null) g.max_ms = Math.max(g.max_ms, now - g.last);
      g.last = now;
      g.frames += 1;
      video.requestVideoFrameCallback(on_frame);
    };
    video.requestVideoFrameCallback(on_frame);
  });
}

async function watch_renewal(page, size, relay, token, device_id) {
  await page.waitForSelector('.video-status[data-state="live"]', { timeout: 30000 });
  const first = await page.textContent('[data-stat="session"]');
  assert.match(first, /^s_/);
  await watch_frames(page);
  // Renewal at two thirds of 60 s after the credentials came.
  await page.waitForFunction(() => document.querySelector('[data-stat="renewals"]')?.textContent === '1', null,
                             { timeout: 75000 });
  const second = await page.textContent('[data-stat="session"]');
  assert.notEqual(second, first);
  assert.match(await page.textContent('.video-renewal'), /Renewed 1 time with fresh TURN credentials/);

  // The video element shows the new peer connection's track, which keeps decoding frames;
  // the old peer connection is closed.
  const on_new = () => page.evaluate(() => {
    const shown = document.querySelector('video').srcObject?.getVideoTracks()[0]?.id;
    return window.test_peers.map((pc) => ({ state: pc.connectionState, policy: pc.getConfiguration().iceTransportPolicy,
      shown: pc.getReceivers().some((r) => r.track.id === shown) }));
  });
  const peers = await on_new();
  assert.equal(peers.length, 2, JSON.stringify(peers));
  assert.deepEqual(peers.map((p) => [p.state, p.shown]), [['closed', false], ['connected', true]]);
  assert.equal(peers[1].policy, 'relay');
  const before = (await peer_stats(page))[1].frames_decoded;
  await eventually(async () => (await peer_stats(page))[1].frames_decoded > before + 30, 20000,
                   'frames keep being decoded on the new connection');
  await page.waitForFunction(() => window.frame_gaps.frames > 60);
  const gaps = await page.evaluate(() => window.frame_gaps);
  const now = (await peer_stats(page))[1];
  console.log(`renewal ${size}: ${first} → ${second}; longest gap between shown frames ${Math.round(gaps.max_ms)} ms ` +
              `over ${gaps.frames} frames; new connection ${now.fps} fps, rtt ${now.rtt_ms} ms, pair ${now.local_type}/${now.remote_type}`);
  assert.equal(await page.textContent('[data-stat="path"]'), 'relayed through TURN');

  // The old session ended "replaced", by this console.
  const row = `.video-history tr[data-session="${first}"] [data-reason]`;
  await page.waitForFunction((sel) => document.querySelector(sel)?.dataset.reason === 'replaced', row, { timeout: 15000 });
  const history = await relay.http('GET', `/api/devices/${device_id}/sessions`, undefined, token);
  assert.equal(history.status, 200, JSON.stringify(history.body));
  const old = history.body.find((s) => s.session_id === first);
  assert.equal(old.end_reason, 'replaced', JSON.stringify(old));
  assert.equal(old.connection_type, 'relay', JSON.stringify(old));
  assert.equal(history.body.find((s) => s.session_id === second)?.live, true, JSON.stringify(history.body));
  await screenshot(page, `video-renewed-${size}`);
  return second;
}

test('a live view is renewed before its 60 s TURN credentials expire, video uninterrupted', async () => {
  const t = scope('video-renewal');
  let failed = true;
  try {
    const { relay, email: owner_email, token: owner, device } = await video_setup(t, {
      device_id: 'rover-2', ttl: 60, robot_args: ['--width', '320', '--height', '240'] });
    // The second viewer is another person with the viewer role: viewers may watch.
    const viewer_email = `viewer-${randomBytes(4).toString('hex')}@example.com`;
    const viewer = await relay.user(viewer_email);
    const shared = await relay.http('POST', `/api/devices/${device.device_id}/members`, { email: viewer_email, role: 'viewer' }, owner);
    assert.equal(shared.status, 201, JSON.stringify(shared.body));

    const browser = t.add(await launch_browser());
    const people = [['desktop', owner_email, owner], ['phone', viewer_email, viewer]];
    const pages = [];
    for (const [size, email] of people)
      pages.push(await video_page(browser, relay, email, device.device_id, { size, relay_only: true, start: true }));
    await Promise.all(pages.map((page, i) => watch_renewal(page, people[i][0], relay, people[i][2], device.device_id)));
    for (const page of pages) await stop_video(page);
    failed = false;
  } finally {
    await t.cleanup(failed);
  }
});

test('a renewal the relay refuses keeps the video and is tried again', async () => {
  const t = scope('video-renewal-retry');
  let failed = true;
  try {
    // One webrtc_request per minute per connection: the renewal at ~40 s is RATE_LIMITED until
    // the bucket refills at ~60 s; the coturn allocation of the first session keeps working.
    const { relay, email, token, device } = await video_setup(t, {
      device_id: 'rover-6', ttl: 60, relay_env: { RELAY_WEBRTC_REQUESTS_PER_MIN: '1' },
      robot_args: ['--width', '320', '--height', '240'] });
    const browser = t.add(await launch_browser());
    const page = await video_page(browser, relay, email, device.device_id, { size: 'phone', relay_only: true, start: true });
    await page.waitForSelector('.video-status[data-state="live"]', { timeout: 30000 });
    const first = await page.textContent('[data-stat="session"]');

    await page.waitForFunction(() => document.querySelector('.video-renewal')?.textContent.startsWith('Renewal failed'), null,
                               { timeout: 60000 });
    assert.equal(await page.textContent('.video-renewal'),
                 'Renewal failed: Too many requests: wait a moment, then try again. Trying again in 5 s; the current video continues.');
    assert.equal(await page.getAttribute('.video-status', 'data-state'), 'live');
    assert.equal(await page.textContent('[data-stat="renewals"]'), '0');
    const before = (await peer_stats(page))[0].frames_decoded;
    await eventually(async () => (await peer_stats(page))[0].frames_decoded > before + 30, 20000,
                     'the first session keeps decoding frames');
    await screenshot(page, 'video-renewal-retry-phone');

    await page.waitForFunction(() => document.querySelector('[data-stat="renewals"]')?.textContent === '1', null,
                               { timeout: 60000 });
    const second = await page.textContent('[data-stat="session"]');
    assert.notEqual(second, first);
    await page.waitForSelector(`.video-history tr[data-session="${first}"] [data-reason="replaced"]`, { timeout: 15000 });
    const rows = (await relay.http('GET', `/api/devices/${device.device_id}/sessions`, undefined, token)).body;
    assert.equal(rows.find((r) => r.session_id === second)?.live, true, JSON.stringify(rows));
    console.log(`renewal retry: ${first} → ${second}; ${rows.length} sessions`);
    await stop_video(page);
    failed = false;
  } finally {
    await t.cleanup(failed);
  }
});
