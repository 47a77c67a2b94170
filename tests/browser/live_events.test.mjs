// The Events tab: a robot's events newest first with time, name, seq and a data summary; what
// arrived while the tab was closed (and what the relay kept from before the page opened) is
// there; filter by name; pause holds the list and counts, resume shows; raw JSON per entry and
// of all; presence events shown as such; keyboard reachable; phone and desktop.
import { test } from 'node:test';
import { assert, robot_agent, scope, launch_browser, check_console, screenshot, eventually, owner_with_robot,
         signed_in_page, assert_fits_phone, frame_received, feed_seqs, tab_to } from './harness.mjs';

const email = 'owner@live-events.test';

function event_frame(name) {
  return (m) => m.type === 'event' && m.event === name;
}

test('the event feed: history, events while the tab was closed, filter, pause, raw JSON, presence', async () => {
  const t = scope('live-events');
  let failed = true;
  try {
    const setup = await owner_with_robot(t, email, 'Garden robot', 'garden-1');
    const { relay, device } = setup;
    let { agent } = setup;
    // Before the page exists: the relay keeps it, and the page's first resume brings it.
    agent.send_event('boot', { firmware: '1.2.3' });

    const browser = t.add(await launch_browser());
    const page = await signed_in_page(browser, relay, email, { frames: true });
    const boot = await frame_received(page, event_frame('boot'), 'the boot event (replayed history)');

    // Events while the page shows another tab: the Events tab has them when opened.
    await page.goto(`/console/#/devices/${device.device_id}/command`);
    await page.waitForSelector('form.command-form');
    agent.send_event('battery', { pct: 81, charging: false });
    agent.send_event('mission_progress', { mission: 'patrol', percent: 40 });
    agent.send_event('battery', { pct: 80, charging: false });
    await frame_received(page, (m) => event_frame('battery')(m) && m.data.pct === 80, 'the third event');

    await page.goto(`/console/#/devices/${device.device_id}/events`);
    await page.waitForSelector('ol.feed li[data-kind="event"]');
    await eventually(async () => (await feed_seqs(page)).length === 4, 10000, 'four events in the feed');
    const seqs = await feed_seqs(page);
    assert.deepEqual(seqs, [boot.seq + 3, boot.seq + 2, boot.seq + 1, boot.seq], 'newest first, every seq once');
    const top = page.locator(`ol.feed li[data-seq="${boot.seq + 3}"]`);
    assert.equal(await page.locator('ol.feed li[data-kind="event"]').first().getAttribute('data-seq'), String(boot.seq + 3));
    assert.equal(await top.locator('.name').textContent(), 'battery');
    assert.equal(await top.locator('.seq').textContent(), `#${boot.seq + 3}`);
    assert.equal(await top.locator('.summary').textContent(), '{"pct":80,"charging":false}');
    assert.match(await top.locator('time').textContent(), /^\d{1,2}:\d{2}:\d{2}\.\d{3}$/);

    // Live while open.
    agent.send_event('dock', { station: 'A' });
    await eventually(async () => (await feed_seqs(page))[0] === boot.seq + 4, 10000, 'a live event on top');

    // Filter by name: only battery events; clearing shows all again.
    await page.fill('input[name="event-filter"]', 'batt');
    await eventually(async () => (await feed_seqs(page)).length === 2, 5000, 'two battery events');
    assert.deepEqual(await page.$$eval('ol.feed li[data-kind="event"]', (l) => l.map((x) => x.dataset.event)),
                     ['battery', 'battery']);
    assert.match(await page.textContent('.feed-status'), /Showing 2 of 5 events/);
    await screenshot(page, 'live-events-filter-desktop');
    await page.fill('input[name="event-filter"]', '');
    await eventually(async () => (await feed_seqs(page)).length === 5, 5000, 'all five again');

    // Pause (reached with the keyboard): the list holds still and counts what arrives.
    await tab_to(page, 'button[name="pause"]');
    await page.keyboard.press('Enter');
    assert.equal(await page.getAttribute('button[name="pause"]', 'aria-pressed'), 'true');
    agent.send_event('bump', { side: 'left' });
    agent.send_event('bump', { side: 'right' });
    await frame_received(page, (m) => event_frame('bump')(m) && m.data.side === 'right', 'the second bump');
    await eventually(async () => (await page.textContent('button[name="pause"]')) === 'Resume (2 new)', 5000,
                     'the pause button counts two new entries');
    assert.match(await page.textContent('.feed-status'), /Paused: 2 new entries since/);
    assert.equal((await feed_seqs(page))[0], boot.seq + 4, 'the paused list did not move');
    await screenshot(page, 'live-events-paused-desktop');
    await page.keyboard.press('Enter'); // the focus is still on the button
    await eventually(async () => (await feed_seqs(page))[0] === boot.seq + 6, 5000, 'resume shows the two');
    assert.equal((await feed_seqs(page)).length, 7);

    // Raw JSON of one entry (a <details>, keyboard-operable) and of all shown.
    await top.locator('summary').click();
    const raw = JSON.parse(await top.locator('pre.raw').textContent());
    assert.equal(raw.type, 'event');
    assert.equal(raw.device_id, device.device_id);
    assert.equal(raw.seq, boot.seq + 3);
    assert.deepEqual(raw.data, { pct: 80, charging: false });
    await page.click('button[name="raw-all"]');
    const all = JSON.parse(await page.textContent('#raw-all'));
    assert.deepEqual(all.map((m) => m.seq), [6, 5, 4, 3, 2, 1, 0].map((i) => boot.seq + i));
    assert.equal(await page.getAttribute('button[name="raw-all"]', 'aria-expanded'), 'true');
    await page.click('button[name="raw-all"]');
    assert.equal(await page.isVisible('#raw-all'), false);

    // Presence: the robot goes away and comes back.
    await agent.stop();
    await page.waitForSelector('ol.feed li[data-kind="presence"][data-event="robot_disconnected"]');
    agent = t.add(await robot_agent.start(t.dir, relay, device));
    await page.waitForSelector('ol.feed li[data-kind="presence"][data-event="robot_connected"]');
    const first = page.locator('ol.feed li.entry').first();
    assert.equal(await first.getAttribute('data-event'), 'robot_connected');
    assert.equal(await first.locator('.presence').textContent(), 'Robot connected');
    assert.equal(await page.locator('ol.feed li[data-event="robot_disconnected"] .presence').textContent(), 'Robot disconnected');
    await screenshot(page, 'live-events-desktop');
    check_console(page);

    // Phone: another person's browser (same account) sees the relay's kept events at once.
    const phone = await signed_in_page(browser, relay, email, { size: 'phone', at: `/devices/${device.device_id}/events` });
    await eventually(async () => (await feed_seqs(phone)).length === 7, 10000, 'the phone shows the kept events');
    assert.deepEqual(await feed_seqs(phone), [6, 5, 4, 3, 2, 1, 0].map((i) => boot.seq + i));
    await assert_fits_phone(phone);
    await phone.locator('ol.feed li[data-kind="event"] summary').first().click();
    await screenshot(phone, 'live-events-phone');
    check_console(phone);
    failed = false;
  } finally {
    await t.cleanup(failed);
  }
});
