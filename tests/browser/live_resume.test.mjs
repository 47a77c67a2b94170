// The feed across a dropped socket: the relay side closes the console's /ws/app (playwright's
// routeWebSocket), the next connection is held while the robot keeps sending, then released;
// the console resumes from its last seq. With the relay's default buffer every seq is there
// once, in order, and a marker says it resumed without loss; with RELAY_REPLAY_MAX_EVENTS=5
// and 20 events meanwhile, a marker names the 15 lost ones. The header's indicator shows the
// connection's state throughout.
import { test } from 'node:test';
import { assert, scope, launch_browser, open_console, check_console, screenshot, sign_in, eventually,
         owner_with_robot, signed_in_page, frame_received, feed_seqs, sleep } from './harness.mjs';

/**
 * A console page whose /ws/app goes through the test: `drop()` closes the current connection
 * as if the relay had, and holds the next one (open to the page, but nobody answers) until
 * `release()`; `frames` are the relay's messages to it.
 */
async function routed_console(browser, relay, size) {
  const page = await open_console(browser, relay, { size, path: null });
  const link = { page, frames: [], connections: 0, current: null, held: null, hold: false };
  await page.routeWebSocket('**/ws/app', (ws) => {
    link.connections += 1;
    if (link.hold) {
      link.held = ws;
      return; // answered by nobody: the console waits for auth_ok
    }
    link.current = ws;
    const server = ws.connectToServer();
    const delayed = [];
    ws.onMessage((message) => {
      // `delay_resume`: the console's resume waits until a live event has reached it, so the
      // replay comes after a newer live event (possible on a real network; forced here).
      if (link.delay_resume && JSON.parse(message).type === 'resume') delayed.push(message);
      else server.send(message);
    });
    server.onMessage((message) => {
      const m = JSON.parse(message);
      link.frames.push(m);
      ws.send(message);
      if (m.type === 'event' && delayed.length > 0) {
        link.delay_resume = false;
        for (const held of delayed.splice(0)) server.send(held);
      }
    });
  });
  link.drop = async () => {
    link.hold = true;
    const before = link.connections;
    await link.current.close();
    await eventually(() => link.connections > before, 20000, 'the console reconnects');
  };
  link.release = async () => {
    link.hold = false;
    const before = link.connections;
    await link.held.close();
    await eventually(() => link.connections > before, 20000, 'the console reconnects again');
  };
  await page.goto('/console/');
  return link;
}

const link_text = (page) => page.textContent('#link');

async function seqs_are(page, expected, what) {
  await eventually(async () => JSON.stringify(await feed_seqs(page)) === JSON.stringify(expected), 20000, what)
    .catch(async (error) => {
      error.message += `\nfeed: ${JSON.stringify(await feed_seqs(page))}\nwanted: ${JSON.stringify(expected)}`;
      throw error;
    });
}

const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

test('a dropped socket resumes from the last seq: every event once, in order, and says so', async () => {
  const t = scope('live-resume');
  let failed = true;
  try {
    const email = 'owner@live-resume.test';
    const { relay, device, agent } = await owner_with_robot(t, email, 'Hall robot', 'hall-1');
    const browser = t.add(await launch_browser());
    // Another browser of the same owner stays connected: it proves what the relay delivered.
    const observer = await signed_in_page(browser, relay, email, { frames: true });

    // Tick 0 comes before the page exists: its first resume (from 0) brings it, and that
    // resume is held until tick 1 has come live, so the history arrives after a newer event.
    agent.send_event('tick', { n: 0 });
    const zero = await frame_received(observer, (m) => m.type === 'event' && m.data?.n === 0, 'tick 0');
    const s = zero.seq; // tick n has seq s + n
    const link = await routed_console(browser, relay, 'desktop');
    const page = link.page;
    link.delay_resume = true;
    await sign_in(page, email);
    await page.goto(`/console/#/devices/${device.device_id}/events`);
    await eventually(async () => (await link_text(page)) === 'live', 10000, 'the indicator says live');

    for (let i = 1; i <= 5; i++) agent.send_event('tick', { n: i });
    await seqs_are(page, range(s, s + 5).reverse(), 'ticks 0 to 5 before the drop');
    const initial = link.frames.filter((m) => m.type === 'event').map((m) => m.seq - s);
    assert.ok(initial[0] === 1 && initial.indexOf(0) > 0, `tick 1 came live before the replay of tick 0: ${initial.join(' ')}`);

    // The relay side drops the socket; the next connection is held.
    await link.drop();
    await eventually(async () => (await link_text(page)) === 'connecting…', 10000, 'the indicator says connecting');
    await screenshot(page, 'live-resume-connecting-desktop');
    for (let i = 6; i <= 15; i++) agent.send_event('tick', { n: i });
    await frame_received(observer, (m) => m.type === 'event' && m.data?.n === 15, 'tick 15 at the relay');
    assert.deepEqual(await feed_seqs(page), range(s, s + 5).reverse(), 'nothing arrived while held');

    // Released: the robot keeps sending while the console reconnects and resumes, so live
    // events and the replay race.
    const sending = (async () => {
      for (let i = 16; i <= 40; i++) {
        agent.send_event('tick', { n: i });
        await sleep(40);
      }
    })();
    link.delay_resume = true;
    await link.release();
    await sending;
    await seqs_are(page, range(s, s + 40).reverse(), 'every tick once, in order');
    await eventually(async () => (await link_text(page)) === 'live', 10000, 'the indicator says live again');
    const resume = link.frames.find((m) => m.type === 'resumed' && m.device_id === device.device_id && m.from_seq > 0
                                    && m.to_seq >= s + 15);
    assert.ok(resume, 'the console resumed the device after the reconnect');
    assert.equal(resume.complete, true);
    assert.ok(link.frames.some((m) => m.type === 'event' && m.seq === s + 6), 'the missed ticks came by replay');
    // A live tick came before the replay on the new connection: a "seq <= highest seen"
    // dedupe would have dropped the replayed ones.
    const after = link.frames.slice(link.frames.findLastIndex((m) => m.type === 'auth_ok'));
    const events = after.filter((m) => m.type === 'event').map((m) => m.seq - s);
    assert.ok(events[0] > 15 && events.includes(6), `a live tick first, then the replay: ${events.join(' ')}`);
    assert.equal(await page.locator('li[data-kind="lost"]').count(), 0, 'no loss marker');
    const marker = page.locator('li[data-kind="resumed"]');
    assert.equal(await marker.count(), 1);
    assert.match(await marker.textContent(), new RegExp(`Reconnected: resumed without loss \\(events ${s + 6}–\\d+ caught up\\)`));
    // The marker sits between tick 5 and tick 6.
    const order = await page.$$eval('ol.feed li.entry', (l) => l.map((x) => x.dataset.kind === 'resumed' ? 'marker' : Number(x.dataset.seq)));
    assert.equal(order[order.indexOf('marker') + 1], s + 5);
    assert.equal(order[order.indexOf('marker') - 1], s + 6);
    await marker.scrollIntoViewIfNeeded();
    await screenshot(page, 'live-resume-desktop');
    check_console(page);
    check_console(observer);
    failed = false;
  } finally {
    await t.cleanup(failed);
  }
});

test('events beyond the relay buffer are named as lost (RELAY_REPLAY_MAX_EVENTS=5), phone and desktop', async () => {
  const t = scope('live-lost');
  let failed = true;
  try {
    const email = 'owner@live-lost.test';
    const { relay, device, agent } = await owner_with_robot(t, email, 'Porch robot', 'porch-1',
                                                            { env: { RELAY_REPLAY_MAX_EVENTS: '5' } });
    const browser = t.add(await launch_browser());
    const observer = await signed_in_page(browser, relay, email, { frames: true });
    const links = [];
    for (const size of ['phone', 'desktop']) {
      const link = await routed_console(browser, relay, size);
      await sign_in(link.page, email);
      await link.page.goto(`/console/#/devices/${device.device_id}/events`);
      links.push(link);
    }

    for (let i = 1; i <= 3; i++) agent.send_event('tick', { n: i });
    const first = await frame_received(observer, (m) => m.type === 'event' && m.data?.n === 1, 'tick 1');
    const s = first.seq - 1;
    for (const link of links) await seqs_are(link.page, range(s + 1, s + 3).reverse(), 'ticks 1 to 3');

    for (const link of links) await link.drop();
    for (let i = 4; i <= 23; i++) agent.send_event('tick', { n: i });
    await frame_received(observer, (m) => m.type === 'event' && m.data?.n === 23, 'tick 23 at the relay');
    for (const link of links) await link.release();

    for (const [i, link] of links.entries()) {
      const page = link.page;
      // The relay kept ticks 19 to 23; 4 to 18 are gone.
      await seqs_are(page, [...range(s + 1, s + 3), ...range(s + 19, s + 23)].reverse(), 'the kept ticks');
      const lost = page.locator('li[data-kind="lost"]');
      await lost.waitFor();
      assert.equal(await lost.count(), 1);
      assert.equal(await lost.getAttribute('data-from'), String(s + 4));
      assert.equal(await lost.getAttribute('data-to'), String(s + 18));
      assert.match(await lost.textContent(), new RegExp(`^Events ${s + 4}–${s + 18} are lost: the relay no longer had them\\.`));
      const resume = link.frames.find((m) => m.type === 'resumed' && m.to_seq >= s + 23);
      assert.equal(resume.complete, false);
      assert.equal(await page.locator('li[data-kind="resumed"]').count(), 0, 'no "without loss" marker');
      const order = await page.$$eval('ol.feed li.entry', (l) => l.map((x) => x.dataset.kind === 'lost' ? 'lost' : Number(x.dataset.seq)));
      assert.deepEqual(order.slice(order.indexOf('lost') - 1, order.indexOf('lost') + 2), [s + 19, 'lost', s + 3],
                       'the marker sits where the events are missing');
      assert.equal(await link_text(page), 'live');
      await screenshot(page, `live-resume-lost-${['phone', 'desktop'][i]}`);
      check_console(page);
    }
    check_console(observer);
    failed = false;
  } finally {
    await t.cleanup(failed);
  }
});
