// Sharing in the console, with a second person in a second browser: the owner shares by email
// (USER_NOT_FOUND in words: the person must register first), the robot appears in the member's
// open list at its next event without a reload, the member sees no owner tabs or tools; the owner
// changes the role (the member's tabs follow after a reload), and removing the member takes the
// robot out of their open list live.
import { test } from 'node:test';
import { assert, relayd, scope, launch_browser, open_console, check_console, check_console_expecting, screenshot,
         sign_in, robot_agent, assert_fits } from './harness.mjs';

const tab_labels = (page) => page.locator('nav.tabs a').allTextContents();

test('share a robot with a viewer, make them operator, remove them', async () => {
  const t = scope('sharing');
  let failed = true;
  try {
    const relay = t.add(await relayd.start(t.dir));
    const ann_token = await relay.user('ann@example.com');
    await relay.user('bob@example.com');
    const device = await relay.device(ann_token, 'Kitchen robot', 'wimz-001');
    const agent = t.add(await robot_agent.start(t.dir, relay, device));
    const browser = t.add(await launch_browser());

    const ann = await open_console(browser, relay, { size: 'desktop', path: null });
    await sign_in(ann, 'ann@example.com');
    await ann.goto('/console/#/devices/wimz-001/sharing');
    await ann.locator('li.member[data-email="ann@example.com"] .role', { hasText: 'owner' }).waitFor();

    const bob = await open_console(browser, relay, { size: 'phone', path: null });
    await sign_in(bob, 'bob@example.com');
    await bob.locator('.empty', { hasText: 'You have no robots yet' }).waitFor();
    await bob.locator('#link[data-state=open]').waitFor();
    await bob.evaluate(() => { window.still_the_same_page = true; });

    // Someone without an account: in words.
    await ann.fill('form[aria-label=Share] input[name=email]', 'carol@example.com');
    await ann.click('form[aria-label=Share] button[type=submit]');
    await ann.locator('#notice', { hasText: 'No account has that email: the person must register first.' }).waitFor();

    // Bob as viewer.
    await ann.fill('form[aria-label=Share] input[name=email]', 'bob@example.com');
    await ann.selectOption('form[aria-label=Share] select[name=role]', 'viewer');
    await ann.click('form[aria-label=Share] button[type=submit]');
    await ann.locator('p.done', { hasText: 'Shared with bob@example.com as viewer.' }).waitFor();
    const bob_row = ann.locator('li.member[data-email="bob@example.com"]');
    assert.equal(await bob_row.locator('select').inputValue(), 'viewer');
    await screenshot(ann, 'sharing-desktop');

    // The relay sends bob's open socket the robot's events from now on: the next one brings the
    // robot into his list, without a reload.
    agent.send_event('battery', { pct: 80 });
    const bob_card = bob.locator('li[data-device=wimz-001]');
    await bob_card.locator('.role', { hasText: 'viewer' }).waitFor({ timeout: 20000 });
    assert.equal(await bob.evaluate(() => window.still_the_same_page), true, 'no reload');
    await screenshot(bob, 'sharing-member-list-phone');
    await assert_fits(bob);

    // A viewer sees no owner tab and no owner tool (the tunnel tab is there: a viewer may GET).
    await bob_card.locator('a').click();
    await bob.locator('dl.facts dd', { hasText: 'viewer' }).waitFor();
    assert.deepEqual(await tab_labels(bob), ['Overview', 'Events', 'Tunnel', 'Video']);
    assert.equal(await bob.locator('form[aria-label=Rename]').count(), 0);
    assert.equal(await bob.locator('button:has-text("Remove robot…")').count(), 0);
    await bob.goto('/console/#/devices/wimz-001/sharing'); // typed by hand: no members shown
    await bob.locator('main p', { hasText: 'Only the robot\'s owner sees and changes who has it.' }).waitFor();
    assert.equal(await bob.locator('li.member').count(), 0);
    await bob.goto('/console/#/devices/wimz-001');
    await bob.locator('dl.facts dd', { hasText: 'viewer' }).waitFor();
    await screenshot(bob, 'sharing-member-overview-phone');
    await assert_fits(bob);

    // Operator: the role changes in place; bob's tabs follow after a reload.
    await bob_row.locator('select').selectOption('operator');
    await ann.locator('p.done', { hasText: 'bob@example.com is now operator.' }).waitFor();
    await bob.reload();
    await bob.locator('dl.facts dd', { hasText: 'operator' }).waitFor();
    assert.deepEqual(await tab_labels(bob), ['Overview', 'Events', 'Command', 'Tunnel', 'Video']);

    // Removed: the robot leaves bob's open list by itself (it was his only robot: the relay closes
    // his socket 4403, the console reconnects and the new list lacks it).
    await bob.goto('/console/#/devices');
    await bob_card.waitFor();
    await bob.evaluate(() => { window.still_the_same_page = true; });
    await bob_row.locator('button:has-text("Remove…")').click();
    await bob_row.locator('.confirm p', { hasText: 'Stop sharing with bob@example.com?' }).waitFor();
    const ann_phone = await open_console(browser, relay, { size: 'phone', path: null });
    await sign_in(ann_phone, 'ann@example.com');
    await ann_phone.goto('/console/#/devices/wimz-001/sharing');
    await ann_phone.locator('li.member[data-email="bob@example.com"] select').waitFor();
    await screenshot(ann_phone, 'sharing-phone');
    await assert_fits(ann_phone);
    check_console(ann_phone);
    await bob_row.locator('button:has-text("Yes, stop sharing")').click();
    await ann.locator('p.done', { hasText: 'bob@example.com no longer has the robot.' }).waitFor();
    assert.equal(await bob_row.count(), 0);
    await bob_card.waitFor({ state: 'detached', timeout: 20000 });
    await bob.locator('.empty', { hasText: 'You have no robots yet' }).waitFor();
    assert.equal(await bob.evaluate(() => window.still_the_same_page), true, 'no reload');
    await bob.goto('/console/#/devices/wimz-001');
    await bob.locator('main h1', { hasText: 'No such robot' }).waitFor();
    await screenshot(bob, 'sharing-removed-phone');
    check_console_expecting(ann, [404]);
    check_console(bob);
    failed = false;
  } finally {
    await t.cleanup(failed);
  }
});
