// The "done when", as one person does it: relayd as the quick start runs it (SQLite, dev
// secrets, no TURN provider), opened at `/`; register; add a robot; start the Python robot with
// the command line READ FROM THE PAGE (from the source tree, as a person who cloned it would);
// watch its events, start a mission from the Command tab and see its progress; watch its video
// (frames decoded by Chromium, a direct path on one machine); stop. Each step also has its own
// detailed test; this one proves they join up.
import { test } from 'node:test';
import path from 'node:path';
import fs from 'node:fs';
import { assert, relayd, scope, launch_browser, open_console, check_console, screenshot, proc, require_env, python,
         eventually, keep_peer_connections, peer_stats, frame_received, watch_frames, stop_video, shown_command } from './harness.mjs';

const source_dir = path.resolve(require_env('RELAY_PYTHON_ROBOT_DIR'), '..', '..');

/**
 * Starts the robot.py command line the page shows, from the source tree. Its PYTHONPATH is the
 * quick start's build directory (`build/python`); the test uses the build under test instead,
 * which is that same directory when the tests run as the README says.
 */
function start_shown_robot(t, command) {
  assert.equal(command.pythonpath, 'build/python');
  assert.equal(command.program, python);
  assert.ok(command.secret, `a secret in ${command.text}`);
  const [script, ...args] = command.args;
  assert.ok(fs.existsSync(path.join(source_dir, script)), `${script} exists in the source tree`);
  const env = { ...process.env, RELAY_DEVICE_SECRET: command.secret, PYTHONFAULTHANDLER: '1' };
  return t.add(new proc([command.program, script, ...args], path.join(t.dir, 'robot-py.log'), { env, cwd: source_dir }));
}

test('open /, register, add a robot, start it with the shown command, watch its events and its video', async () => {
  const t = scope('first-run');
  let failed = true;
  try {
    const relay = t.add(await relayd.start(t.dir)); // no TURN provider: the quick start's default
    const browser = t.add(await launch_browser());
    const page = await open_console(browser, relay, { size: 'desktop', path: null });
    await keep_peer_connections(page.context());
    watch_frames(page);

    // `/` leads to the console, which asks a newcomer to sign in or create an account.
    await page.goto('/');
    await page.waitForFunction(() => location.pathname === '/console/');
    await page.waitForSelector('form[aria-label="Sign in"]');
    await page.click('a:has-text("Create an account")');
    await page.waitForSelector('form[aria-label=Register]');
    await page.fill('input[name=email]', 'first@example.com');
    await page.fill('input[name=password]', 'correct horse battery staple');
    await page.click('form button[type=submit]');
    await page.waitForFunction(() => location.hash === '#/devices');

    // Add a robot: its secret once and the command lines.
    await page.click('.empty a:has-text("Add a robot")');
    await page.waitForSelector('form[aria-label="Add a robot"]');
    await page.fill('input[name=name]', 'Living room robot');
    await page.fill('input[name=device_id]', 'wimz-first');
    await page.click('form[aria-label="Add a robot"] button[type=submit]');
    await page.locator('.secret-panel .warning', { hasText: 'not shown again' }).waitFor();
    const command = await shown_command(page, 'robot-py');
    assert.ok(command.text.includes(`--relay ${relay.url} --device-id wimz-first`), command.text);
    await screenshot(page, 'first-run-added-desktop');

    // The robot, started as shown, goes online in the open list.
    start_shown_robot(t, command);
    await page.click('a:has-text("All robots")');
    const card = page.locator('li[data-device=wimz-first]');
    await card.locator('.dot[data-online=true]').waitFor({ timeout: 30000 });

    // Its events: the battery it reports on connecting, then a mission started from the console.
    await card.locator('a', { hasText: 'Living room robot' }).click();
    await page.goto('/console/#/devices/wimz-first/events');
    await page.locator('ol.feed li[data-event="battery"]').first().waitFor({ timeout: 20000 });
    await page.goto('/console/#/devices/wimz-first/command');
    await page.fill('input[name="command"]', 'start_mission');
    await page.fill('textarea[name="data"]', '{"name":"tour"}');
    await page.click('form.command-form button[type="submit"]');
    await page.waitForSelector('ol.commands li.command:first-child[data-state="ok"]', { timeout: 20000 });
    assert.match(await page.locator('ol.commands li.command').first().textContent(), /"started":\s*true/);
    await frame_received(page, (m) => m.type === 'event' && m.event === 'mission_progress' && m.data?.pct >= 20,
                         'mission progress', 20000);
    await page.goto('/console/#/devices/wimz-first/events');
    await page.fill('input[name="event-filter"]', 'mission');
    await eventually(async () => await page.locator('ol.feed li[data-event="mission_progress"]').count() >= 3,
                     10000, 'mission progress in the feed');
    await screenshot(page, 'first-run-events-desktop');

    // Its video: decoded by the browser, direct on one machine (no TURN configured).
    await page.goto('/console/#/devices/wimz-first/video');
    await page.click('#video-start');
    const first = await eventually(async () => (await peer_stats(page)).find((p) => p.frames_decoded > 0),
                                   30000, 'framesDecoded > 0 in Chromium');
    assert.ok(first.frames_decoded > 0);
    await page.waitForSelector('.video-status[data-state="live"]');
    await page.waitForFunction(() => document.querySelector('[data-stat="path"]')?.textContent === 'direct');
    await page.waitForFunction(() => Number(document.querySelector('[data-stat="frames"]')?.textContent) >= 30, null,
                               { timeout: 20000 });
    await screenshot(page, 'first-run-video-desktop');
    await stop_video(page);
    check_console(page);
    failed = false;
  } finally {
    await t.cleanup(failed);
  }
});
