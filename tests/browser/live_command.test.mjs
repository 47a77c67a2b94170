// The Command tab against robot-agent with a command program (live_command_program.py): data
// that is not JSON is refused before sending; a command shows sent → ack → result (ok with its
// data, or the robot's error); a result slower than the wait asked for shows the timeout, then
// the late result; a viewer hears FORBIDDEN and an offline robot DEVICE_OFFLINE, in words.
import { test } from 'node:test';
import path from 'node:path';
import { assert, scope, launch_browser, check_console, screenshot, robot_online, owner_with_robot, add_viewer,
         signed_in_page, assert_fits_phone, frame_received, tab_to } from './harness.mjs';

const program = path.join(import.meta.dirname, 'live_command_program.py');
const commands_sent = (page) => page.ws_sent.filter((m) => m.type === 'command');

async function send(page, command, data = '', timeout_s = '30') {
  await page.fill('input[name="command"]', command);
  await page.fill('textarea[name="data"]', data);
  await page.fill('input[name="timeout"]', timeout_s);
  await page.click('form.command-form button[type="submit"]');
}

/** The newest command's card once it reached `state`. */
async function newest(page, state) {
  const card = page.locator('ol.commands li.command').first();
  await page.waitForSelector(`ol.commands li.command:first-child[data-state="${state}"]`, { timeout: 20000 });
  return card;
}

test('commands: JSON checked first, sent → ack → result, robot errors, timeout, FORBIDDEN, DEVICE_OFFLINE', async () => {
  const t = scope('live-command');
  let failed = true;
  try {
    const email = 'owner@live-command.test';
    const { relay, token, device, agent } = await owner_with_robot(t, email, 'Kitchen robot', 'kitchen-1',
                                                                   { agent: { command_program: program } });
    const browser = t.add(await launch_browser());
    const page = await signed_in_page(browser, relay, email, { frames: true, at: `/devices/${device.device_id}/command` });
    await page.waitForSelector('form.command-form');

    // Not JSON: a clear message at the field, and nothing goes out.
    await send(page, 'move', '{speed: 0.5');
    const error = page.locator('#command-data-error');
    await error.waitFor();
    assert.match(await error.textContent(), /^The data is not valid JSON: .+\. Nothing was sent\.$/);
    assert.equal(await page.getAttribute('textarea[name="data"]', 'aria-invalid'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement.name), 'data');

    // With the keyboard: name, data, send.
    await page.fill('input[name="command"]', '');
    await page.fill('textarea[name="data"]', '');
    await page.focus('input[name="command"]');
    await page.keyboard.type('move');
    await tab_to(page, 'textarea[name="data"]');
    await page.keyboard.type('{"speed": 0.5, "heading": 90}');
    assert.equal(await error.isVisible(), false, 'typing clears the message');
    await tab_to(page, 'form.command-form button[type="submit"]');
    await page.keyboard.press('Enter');
    const ok = await newest(page, 'ok');
    assert.deepEqual(await ok.locator('ol.steps > li').evaluateAll((l) => l.map((x) => x.dataset.step)), ['sent', 'ack', 'result']);
    assert.match(await ok.locator('[data-step="ack"]').textContent(), /Ack: the relay handed it to the robot/);
    assert.match(await ok.locator('[data-step="result"]').textContent(), /Result: ok/);
    const echoed = JSON.parse(await ok.locator('[data-step="result"] pre').textContent());
    assert.equal(echoed.command, 'move');
    assert.deepEqual(echoed.echo, { speed: 0.5, heading: 90 });
    // Exactly one command went out: the refused one never did (the ack is the barrier).
    assert.equal(commands_sent(page).length, 1);
    assert.deepEqual(commands_sent(page)[0].data, { speed: 0.5, heading: 90 });
    await frame_received(page, (m) => m.type === 'ack' && m.ref === commands_sent(page)[0].id, 'the ack');

    // The robot's own failure, in its words.
    await send(page, 'fail');
    const failed_card = await newest(page, 'failed');
    assert.match(await failed_card.locator('[data-step="result"]').textContent(),
                 /Result: failed: the robot refuses this on purpose \(REFUSED\)/);
    assert.equal(await failed_card.locator('.command-head').textContent(), 'fail no data');

    // No result within the wait asked for (1 s; the program takes 4): the timeout, then the late result.
    await send(page, 'slow', '', '1');
    const slow = await newest(page, 'timeout');
    assert.match(await slow.locator('[data-step="timeout"]').textContent(), /No result within 1 s/);
    await screenshot(page, 'live-command-timeout-desktop');
    await newest(page, 'ok');
    assert.match(await slow.locator('[data-step="result"]').textContent(), /Result: ok \(after the timeout\)/);
    await screenshot(page, 'live-command-desktop');
    check_console(page);

    // Phone: the same, at 360 px.
    const phone = await signed_in_page(browser, relay, email, { size: 'phone', at: `/devices/${device.device_id}/command` });
    await send(phone, 'dock', '{"station": "A"}');
    await newest(phone, 'ok');
    await send(phone, 'fail', '[1, 2]');
    await newest(phone, 'failed');
    await assert_fits_phone(phone);
    await screenshot(phone, 'live-command-phone');
    check_console(phone);

    // A viewer may open the tab but the relay refuses: FORBIDDEN in words.
    const viewer_email = 'viewer@live-command.test';
    await add_viewer(relay, token, device.device_id, viewer_email);
    const viewer = await signed_in_page(browser, relay, viewer_email, { at: `/devices/${device.device_id}/command` });
    await viewer.waitForSelector('form.command-form');
    assert.equal(await viewer.locator('nav.tabs a', { hasText: 'Command' }).count(), 0, 'no Command tab for a viewer');
    await send(viewer, 'move', '{}');
    const forbidden = await newest(viewer, 'error');
    assert.equal(await forbidden.locator('[data-step="error"]').getAttribute('data-code'), 'FORBIDDEN');
    assert.match(await forbidden.locator('[data-step="error"]').textContent(), /Your role on this robot does not allow that/);
    await screenshot(viewer, 'live-command-forbidden-desktop');
    check_console(viewer);

    // The robot goes offline: DEVICE_OFFLINE, in words.
    await agent.stop();
    await robot_online(relay, token, device.device_id, false);
    await send(page, 'move', '{"speed": 1}');
    const offline = await newest(page, 'error');
    assert.equal(await offline.locator('[data-step="error"]').getAttribute('data-code'), 'DEVICE_OFFLINE');
    assert.match(await offline.locator('[data-step="error"]').textContent(), /^The robot is offline\. Start it, then try again\./);
    assert.deepEqual(await offline.locator('ol.steps > li').evaluateAll((l) => l.map((x) => x.dataset.step)), ['sent', 'error']);
    await screenshot(page, 'live-command-offline-desktop');
    check_console(page);

    // Signing out forgets the commands: the viewer signing in on this same page (no reload: the
    // mark on window survives) finds the Command tab of that robot empty.
    assert.ok(await page.locator('ol.commands li.command').count() > 0);
    await page.evaluate(() => { window.same_page = true; });
    await page.click('#sign-out');
    await page.waitForFunction(() => location.hash.startsWith('#/login'));
    await page.fill('input[name=email]', viewer_email);
    await page.fill('input[name=password]', 'correct horse battery staple');
    await page.click('form button[type=submit]');
    await page.waitForFunction(() => !location.hash.startsWith('#/login'));
    await page.evaluate((id) => { location.hash = `/devices/${id}/command`; }, device.device_id);
    await page.waitForSelector('form.command-form');
    assert.equal(await page.evaluate(() => window.same_page), true, 'the same page, not a reload');
    assert.equal(await page.locator('ol.commands li.command').count(), 0);
    assert.equal(await page.locator('ol.commands').textContent(), 'Nothing sent yet.');
    check_console(page);
    failed = false;
  } finally {
    await t.cleanup(failed);
  }
});
