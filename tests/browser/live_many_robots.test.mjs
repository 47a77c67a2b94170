// Resume with more robots than one paced batch (40 a second): an owner with 45 robots, the one
// resumed in the second batch sending events before the page opens and every 150 ms while it
// signs in. Its live events reach the page before its resume is sent; the feed must still show
// the history from before the page opened, every event once, and the relay must never refuse a
// second resume for it (BAD_MESSAGE: one resume per device in flight, decision 16).
import { test } from 'node:test';
import { assert, relayd, scope, launch_browser, check_console, screenshot, eventually, robot_agent, robot_online,
         signed_in_page, frame_received, feed_seqs, watch_frames, sign_in, open_console, sleep, sizes } from './harness.mjs';

const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

test('45 robots: the one resumed in the second batch keeps its history and is resumed once', async () => {
  const t = scope('live-many-robots');
  let failed = true;
  try {
    const email = 'owner@many-robots.test';
    const relay = t.add(await relayd.start(t.dir));
    const token = await relay.user(email);
    const devices = new Map();
    for (let i = 1; i <= 45; i++) {
      const id = `bot-${String(i).padStart(2, '0')}`;
      devices.set(id, await relay.device(token, `Robot ${i}`, id));
    }
    const browser = t.add(await launch_browser());
    // An observer page: which robot auth_ok lists last, and what the relay delivered.
    const observer = await signed_in_page(browser, relay, email, { frames: true });
    const auth_ok = await frame_received(observer, (m) => m.type === 'auth_ok', 'auth_ok');
    assert.equal(auth_ok.devices.length, 45);
    const target = devices.get(auth_ok.devices.at(-1).device_id);
    const agent = t.add(await robot_agent.start(t.dir, relay, target));
    await robot_online(relay, token, target.device_id);

    // History: three ticks before the page opens.
    for (let n = 0; n < 3; n++) agent.send_event('tick', { n });
    const first = await frame_received(observer, (m) => m.type === 'event' && m.data?.n === 0, 'tick 0');
    const s = first.seq; // tick n has seq s + n
    await frame_received(observer, (m) => m.type === 'event' && m.data?.n === 2, 'tick 2');

    // Live ticks every 150 ms while the page signs in, until its resume of the target has ended.
    const page = await open_console(browser, relay, { size: 'desktop', path: null });
    watch_frames(page);
    await page.goto('/console/');
    let n = 3;
    let sending = true;
    const ticking = (async () => {
      while (sending) {
        agent.send_event('tick', { n: n++ });
        await sleep(150);
      }
    })();
    try {
      await sign_in(page, email);
      await frame_received(page, (m) => m.type === 'resumed' && m.device_id === target.device_id, 'the target resumed');
    } finally {
      sending = false;
      await ticking;
    }
    const last = n - 1;
    await frame_received(observer, (m) => m.type === 'event' && m.data?.n === last, `tick ${last} at the relay`);
    await page.goto(`/console/#/devices/${target.device_id}/events`);
    await eventually(async () => JSON.stringify(await feed_seqs(page)) === JSON.stringify(range(s, s + last).reverse()),
                     20000, 'every tick once, the history included')
      .catch(async (error) => {
        error.message += `\nfeed: ${JSON.stringify(await feed_seqs(page))}\nwanted ${s}…${s + last}`;
        throw error;
      });

    // Every robot's resume was sent and answered (the barrier for "no second one, nothing refused").
    await eventually(() => new Set(page.ws_frames.filter((m) => m.type === 'resumed').map((m) => m.device_id)).size === 45,
                     20000, 'all 45 robots resumed');
    // Its live ticks came before its resume was sent, which was in the second batch, and once.
    const resumes = page.ws_sent.filter((m) => m.type === 'resume');
    const mine = resumes.filter((m) => m.device_id === target.device_id);
    assert.equal(mine.length, 1, `one resume for ${target.device_id}: ${JSON.stringify(mine)}`);
    assert.equal(mine[0].after_seq, 0, 'from 0: the history too');
    assert.ok(resumes.indexOf(mine[0]) >= 40, `resumed in the second batch (#${resumes.indexOf(mine[0])})`);
    const live_first = page.ws_frames.findIndex((m) => m.type === 'event' && Number.isInteger(m.seq) && m.device_id === target.device_id);
    const resumed_at = page.ws_frames.findIndex((m) => m.type === 'resumed' && m.device_id === target.device_id);
    assert.ok(live_first >= 0 && page.ws_frames[live_first].seq > s + 2 && live_first < resumed_at,
              'a live tick reached the page before the history');
    assert.equal(new Set(resumes.map((m) => m.device_id)).size, 45, 'every robot resumed');
    assert.deepEqual(page.ws_frames.filter((m) => m.type === 'error'), [], 'the relay refused nothing');
    assert.equal(await page.locator('li[data-kind="lost"]').count(), 0, 'nothing marked lost');
    await screenshot(page, 'live-many-robots-desktop');
    await page.setViewportSize(sizes.phone.viewport);
    await screenshot(page, 'live-many-robots-phone');
    check_console(page);
    check_console(observer);
    failed = false;
  } finally {
    await t.cleanup(failed);
  }
});
