// Real parts for the console's browser tests: relayd, coturn, robot-agent and the Python robot
// as processes on 127.0.0.1 (each in its own process group, its output in a file of the test's
// temporary folder, all stopped when the test ends, also when it fails), and Debian's Chromium
// driven by playwright-core with every page's console watched for errors.
//
// Paths come from ctest's environment (tests/CMakeLists.txt, label "browser"):
// RELAY_TEST_RELAYD, RELAY_TEST_ROBOT_AGENT, RELAY_PYTHON_ROBOT_DIR, PYTHONPATH,
// RELAY_SCREENSHOT_DIR (where screenshots go; docs/console.md shows them).
import { spawn, execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';

let playwright;
try {
  playwright = await import('playwright-core');
} catch {
  throw new Error('playwright-core is missing: run `npm ci` in tests/browser (scripts/dev.sh test does)');
}

export const chromium_path = process.env.RELAY_CHROMIUM ?? '/usr/bin/chromium';
export const python = '/usr/bin/python3'; // Debian's: aiortc and relay_robot's ABI

export function require_env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run these tests through ctest (label browser)`);
  return value;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `condition()` (sync or async) until it returns something truthy; fails after `timeout_ms`. */
export async function eventually(condition, timeout_ms, what, interval_ms = 100) {
  const deadline = Date.now() + timeout_ms;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`not within ${timeout_ms} ms: ${what}`);
    await sleep(interval_ms);
  }
}

/** A temporary folder for one test, removed by cleanup() unless RELAY_KEEP_TMP is set. */
export function temp_dir(name) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `relay-browser-${name}-`));
}

/** A free port on 127.0.0.1 (`udp` for coturn). */
export async function free_port(udp = false) {
  if (udp) {
    const s = createSocket('udp4');
    await new Promise((resolve) => s.bind(0, '127.0.0.1', resolve));
    const { port } = s.address();
    s.close();
    return port;
  }
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const running = new Set();
process.on('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

/** A child in its own process group with its output in `log_path`. */
export class proc {
  constructor(argv, log_path, { env = process.env, stdin = 'ignore', cwd } = {}) {
    this.log_path = log_path;
    const out = fs.openSync(log_path, 'w');
    this.child = spawn(argv[0], argv.slice(1), { env, cwd, stdio: [stdin, out, out], detached: true });
    fs.closeSync(out);
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve(code ?? signal)));
    this.exit_code = null;
    this.exited.then((code) => { this.exit_code = code; running.delete(this); });
    running.add(this);
  }

  get running() { return this.exit_code === null; }
  get stdin() { return this.child.stdin; }
  output() { return fs.existsSync(this.log_path) ? fs.readFileSync(this.log_path, 'utf8') : ''; }

  kill(signal = 'SIGTERM') {
    if (!this.running) return;
    try { process.kill(-this.child.pid, signal); } catch { /* already gone */ }
  }

  /** SIGTERM to the group, SIGKILL after `timeout_ms`; the exit code or signal. */
  async stop(timeout_ms = 10000) {
    if (!this.running) return this.exit_code;
    this.kill('SIGTERM');
    const timer = setTimeout(() => this.kill('SIGKILL'), timeout_ms);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

/** relayd on a port of its choosing with a SQLite file (as the C++ suites start it). */
export class relayd {
  static async start(dir, env = {}) {
    const r = new relayd();
    r.dir = path.join(dir, 'relayd');
    fs.mkdirSync(r.dir, { recursive: true });
    r.env = { PATH: process.env.PATH ?? '/usr/bin:/bin', RELAY_HOST: '127.0.0.1', RELAY_PORT: '0',
              RELAY_DATABASE: path.join(r.dir, 'relay.db'), RELAY_THREADS: '2', RELAY_DEV: 'true',
              RELAY_JWT_SECRET: randomBytes(32).toString('hex'), RELAY_TURN_PROBE_INTERVAL: '0', ...env };
    r.starts = 0;
    await r.start();
    return r;
  }

  async start(port = 0) {
    this.env.RELAY_PORT = String(port);
    this.starts += 1;
    this.process = new proc([require_env('RELAY_TEST_RELAYD')], path.join(this.dir, `relayd-${this.starts}.log`), { env: this.env });
    const found = await eventually(() => {
      const m = /(?: listening .*?port=|"event":"listening".*?"port":)(\d+)/.exec(this.process.output());
      if (!m && !this.process.running) throw new Error(`relayd exited at start:\n${this.process.output()}`);
      return m;
    }, 20000, 'relayd listening');
    this.port = Number(found[1]);
    this.url = `http://127.0.0.1:${this.port}`;
  }

  stop() { return this.process.stop(); }
  output() {
    return fs.readdirSync(this.dir).filter((f) => f.startsWith('relayd-')).sort()
      .map((f) => fs.readFileSync(path.join(this.dir, f), 'utf8')).join('');
  }

  /** A JSON API call from Node (test set-up, checks): {status, body}. */
  async http(method, route, body, token) {
    const headers = {};
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (token) headers.Authorization = `Bearer ${token}`;
    const res = await fetch(this.url + route, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let parsed = text;
    try { parsed = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
    return { status: res.status, body: parsed, headers: res.headers };
  }

  /** Registers and logs in a user from Node; the access token. */
  async user(email, password = 'correct horse battery staple') {
    const reg = await this.http('POST', '/api/auth/register', { email, password });
    assert.ok(reg.status === 201 || reg.status === 409, `register ${email}: ${reg.status} ${JSON.stringify(reg.body)}`);
    const login = await this.http('POST', '/api/auth/login', { email, password });
    assert.equal(login.status, 200, JSON.stringify(login.body));
    return login.body.access_token;
  }

  /** Adds a device for the user of `token`: {device_id, name, device_secret}. */
  async device(token, name, device_id) {
    const res = await this.http('POST', '/api/devices', device_id ? { name, device_id } : { name }, token);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body;
  }
}

/** Whether a STUN server on 127.0.0.1:`port` answers a Binding request within 300 ms. */
export async function stun_binding_ok(port) {
  const socket = createSocket('udp4');
  const transaction = randomBytes(12);
  const request = Buffer.concat([Buffer.from([0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42]), transaction]);
  try {
    return await new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), 300);
      socket.on('message', (answer) => {
        if (answer.length >= 20 && answer.readUInt16BE(0) === 0x0101 && answer.subarray(8, 20).equals(transaction)) {
          clearTimeout(timer);
          resolve(true);
        }
      });
      socket.on('error', () => { clearTimeout(timer); resolve(false); });
      socket.send(request, port, '127.0.0.1');
    });
  } finally {
    socket.close();
  }
}

/** coturn with use-auth-secret on 127.0.0.1, relaying to loopback peers (tests/turn's flags). */
export class coturn {
  static async start(dir, secret, extra = []) {
    const c = new coturn();
    c.dir = path.join(dir, 'coturn');
    fs.mkdirSync(c.dir, { recursive: true });
    c.secret = secret;
    for (let attempt = 0; attempt < 5; attempt++) {
      c.port = await free_port(true);
      c.process = new proc(['/usr/bin/turnserver', '-n', '--listening-ip=127.0.0.1', `--listening-port=${c.port}`,
        '--relay-ip=127.0.0.1', '--use-auth-secret', `--static-auth-secret=${secret}`, '--realm=relay.test',
        '--no-tls', '--no-dtls', '--no-cli', '--allow-loopback-peers', '--simple-log', '--no-stdout-log',
        `--log-file=${c.dir}/turn.log`, `--pidfile=${c.dir}/turn.pid`, `--db=${c.dir}/turndb`, ...extra],
        path.join(c.dir, `stdout-${attempt}.txt`));
      // Ready when it answers a STUN Binding request (coturn 4.6.1 logs no line for its listener).
      const up = await eventually(async () => !c.process.running || await stun_binding_ok(c.port),
        10000, 'turnserver listening').catch(() => false);
      if (up && c.process.running) return c;
      await c.process.stop();
    }
    throw new Error(`turnserver did not start in ${c.dir}`);
  }

  /** relayd's settings for this coturn: credentials it signs, URLs it hands out. */
  relay_env(ttl = 3600) {
    return { RELAY_TURN_PROVIDER: 'coturn', RELAY_TURN_SECRET: this.secret,
             RELAY_TURN_URLS: `turn:127.0.0.1:${this.port}?transport=udp`, RELAY_TURN_TTL: String(ttl) };
  }

  stop() { return this.process.stop(); }
}

/** robot-agent for a device: events written with send_event() go to the relay. */
export class robot_agent {
  static async start(dir, relay, device, { local_api, command_program, args = [] } = {}) {
    const a = new robot_agent();
    const argv = [require_env('RELAY_TEST_ROBOT_AGENT'), '--relay', relay.url, '--device-id', device.device_id];
    if (local_api) argv.push('--local-api', local_api);
    if (command_program) argv.push('--command-program', command_program);
    argv.push(...args);
    a.process = new proc(argv, path.join(dir, `robot-agent-${device.device_id}.log`),
                         { env: { ...process.env, RELAY_DEVICE_SECRET: device.device_secret }, stdin: 'pipe' });
    return a;
  }

  send_event(event, data) {
    this.process.stdin.write(`${JSON.stringify(data === undefined ? { event } : { event, data })}\n`);
  }

  stop() { return this.process.stop(); }
}

/** examples/python-robot/robot.py for a device (video: a generated test pattern). */
export class python_robot {
  static async start(dir, relay, device, args = []) {
    const r = new python_robot();
    const script = path.join(require_env('RELAY_PYTHON_ROBOT_DIR'), 'robot.py');
    r.process = new proc([python, script, '--relay', relay.url, '--device-id', device.device_id, ...args],
                         path.join(dir, `robot-py-${device.device_id}.log`),
                         { env: { ...process.env, RELAY_DEVICE_SECRET: device.device_secret, PYTHONFAULTHANDLER: '1' } });
    return r;
  }

  stop() { return this.process.stop(); }
}

// ---- the browser ----

/** Screen sizes every feature is looked at in. */
export const sizes = {
  phone: { viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 },
  desktop: { viewport: { width: 1280, height: 800 } },
};

/** Debian's Chromium, headless, with nothing that reaches outside this machine. */
export async function launch_browser() {
  return playwright.chromium.launch({
    executablePath: chromium_path,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
           // Fake camera prompts never block a test (the console only receives video).
           '--use-fake-ui-for-media-stream'],
  });
}

/**
 * A fresh browser context (its own storage: another person, another device) at `size`, with a
 * page on the console. `page.console_errors` collects every console error and page error;
 * check_console(page) fails the test on any.
 */
export async function open_console(browser, relay, { size = 'desktop', path: at = '/console/' } = {}) {
  const context = await browser.newContext({ ...sizes[size], baseURL: relay.url });
  const page = await context.newPage();
  page.console_errors = [];
  page.on('console', (m) => { if (m.type() === 'error') page.console_errors.push(`console.error: ${m.text()} (${m.location().url})`); });
  page.on('pageerror', (e) => page.console_errors.push(`page error: ${e.message}`));
  if (at !== null) await page.goto(at);
  return page;
}

/** The browser's console stayed free of errors (a CSP violation is one too). */
export function check_console(page) {
  assert.deepEqual(page.console_errors, [], `browser console errors:\n${page.console_errors.join('\n')}`);
}

/** Saves a full-page screenshot as <RELAY_SCREENSHOT_DIR>/<name>.png (for docs/console.md). */
export async function screenshot(page, name) {
  const dir = process.env.RELAY_SCREENSHOT_DIR ?? path.join(os.tmpdir(), 'relay-console-screenshots');
  fs.mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true });
}

/** Signs in through the console's form (the account views keep these names). */
export async function sign_in(page, email, password = 'correct horse battery staple') {
  await page.goto('/console/#/login');
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', password);
  await page.click('form button[type=submit]');
  await page.waitForFunction(() => !location.hash.startsWith('#/login'));
}

/**
 * Everything a test started, stopped in reverse order by `await t.cleanup()`; keeps the folder
 * (and says where) when the test failed or RELAY_KEEP_TMP is set.
 */
export function scope(name) {
  const dir = temp_dir(name);
  const stack = [];
  return {
    dir,
    add(thing) { stack.push(thing); return thing; },
    async cleanup(failed = false) {
      for (const thing of stack.reverse()) {
        try { await (thing.close ? thing.close() : thing.stop()); } catch { /* best effort */ }
      }
      if (failed || process.env.RELAY_KEEP_TMP) console.log(`test files kept in ${dir}`);
      else fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---- live: events, commands, tunnel (live_*.test.mjs) ----

/**
 * relayd (with `env`), an owner `email` with one robot `device_id`, and robot-agent for it
 * (`agent`: robot_agent.start's options), online: {relay, token, device, agent}.
 */
export async function owner_with_robot(t, email, name, device_id, { env = {}, agent = {} } = {}) {
  const relay = t.add(await relayd.start(t.dir, env));
  const token = await relay.user(email);
  const device = await relay.device(token, name, device_id);
  const agent_process = t.add(await robot_agent.start(t.dir, relay, device, agent));
  await robot_online(relay, token, device.device_id);
  return { relay, token, device, agent: agent_process };
}

/** Registers `email` and makes it a viewer of the owner's (`token`) device. */
export async function add_viewer(relay, token, device_id, email) {
  await relay.user(email);
  const res = await relay.http('POST', `/api/devices/${encodeURIComponent(device_id)}/members`, { email, role: 'viewer' }, token);
  assert.equal(res.status, 201, JSON.stringify(res.body));
}

/**
 * A console page (a fresh context) at `size`, signed in as `email`, at console path `at`
 * ('/devices/x/events'); `frames`: watch_frames() first.
 */
export async function signed_in_page(browser, relay, email, { size = 'desktop', at, frames = false } = {}) {
  const page = await open_console(browser, relay, { size });
  if (frames) watch_frames(page);
  await sign_in(page, email);
  if (at) await page.goto(`/console/#${at}`);
  return page;
}

/** Nothing scrolls sideways at phone size. */
export async function assert_fits_phone(page) {
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= sizes.phone.viewport.width, `no sideways scrolling at phone size (${width} px)`);
}

/** Waits until the relay reports `device_id` online (or offline) to the user of `token`. */
export async function robot_online(relay, token, device_id, online = true) {
  await eventually(async () => {
    const res = await relay.http('GET', `/api/devices/${encodeURIComponent(device_id)}`, undefined, token);
    return res.status === 200 && res.body.online === online;
  }, 30000, `${device_id} ${online ? 'online' : 'offline'}`);
}

/**
 * Keeps every message the page's /ws/app sockets receive (parsed) in `page.ws_frames`, and those
 * they send in `page.ws_sent`: a test's barrier for "the page has it" that needs no hook in the
 * console. Call before the socket opens.
 */
export function watch_frames(page) {
  page.ws_frames = [];
  page.ws_sent = []; // what the page sent
  page.on('websocket', (ws) => {
    if (!ws.url().endsWith('/ws/app')) return;
    ws.on('framereceived', (f) => {
      try { page.ws_frames.push(JSON.parse(f.payload)); } catch { /* not JSON */ }
    });
    ws.on('framesent', (f) => {
      try { page.ws_sent.push(JSON.parse(f.payload)); } catch { /* not JSON */ }
    });
  });
}

/** Waits until the page's socket received a message for which `match(message)` holds. */
export function frame_received(page, match, what, timeout_ms = 20000) {
  return eventually(() => page.ws_frames.find(match), timeout_ms, `the page received ${what}`);
}

/** The seqs of the Events tab's feed, top (newest) first. */
export function feed_seqs(page) {
  return page.$$eval('ol.feed li[data-kind="event"]', (items) => items.map((li) => Number(li.dataset.seq)));
}

export { assert, execFileSync };

// ---- account, devices, sharing ----

/** The newest password-reset token relayd (RELAY_DEV=true) logged for `email`. */
export async function reset_token(relay, email) {
  return eventually(() => {
    const lines = relay.output().split('\n').filter((l) => l.includes('password_reset_token') && l.includes(email));
    const m = /token[=":]+([A-Za-z0-9_-]{43})/.exec(lines.at(-1) ?? '');
    return m?.[1];
  }, 10000, `a password-reset token for ${email} in the relay's log`);
}

/** What has the keyboard focus: "input[name=email]", "button:Sign in", "a:Register", … */
export function focused(page) {
  return page.evaluate(() => {
    const e = document.activeElement;
    if (!e || e === document.body) return 'body';
    const tag = e.tagName.toLowerCase();
    if (e.name && ['input', 'select', 'textarea'].includes(tag)) return `${tag}[name=${e.name}]`;
    return `${tag}:${e.textContent.trim().replace(/\s+/g, ' ')}`;
  });
}

/**
 * Presses Tab until `target` has the focus — focused()'s "tag:label" (e.g. 'button:Add robot')
 * or a playwright selector — recording every stop; fails after `max` presses: it is keyboard
 * reachable. The stops, target last.
 */
export async function tab_to(page, target, max = 40) {
  // `target` is either focused()'s "tag:label" form or a CSS selector.
  const by_label = /^[a-z]+:/.test(target);
  const locator = by_label ? null : page.locator(target).first();
  const stops = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const now = await focused(page);
    stops.push(now);
    if (by_label ? now === target : await locator.evaluate((el) => el === document.activeElement)) return stops;
  }
  throw new Error(`Tab did not reach ${target} in ${max} presses: ${stops.join(' → ')}`);
}
/** Whether the focused element shows a focus ring (:focus-visible with an outline). */
export function focus_visible(page) {
  return page.evaluate(() => {
    const e = document.activeElement;
    return !!e && e.matches(':focus-visible') && getComputedStyle(e).outlineStyle !== 'none';
  });
}

/**
 * check_console(page), except for Chromium's own "Failed to load resource: the server responded
 * with a status of N" lines for the `statuses` a test provoked on purpose (a wrong password's
 * 401, a throttled 429): the browser logs every such answer, the console shows them in words.
 * Any other error, or such a line for another status, still fails.
 */
export function check_console_expecting(page, statuses) {
  const expected = new RegExp(`^console\\.error: Failed to load resource: the server responded with a status of (${statuses.join('|')}) `);
  page.console_errors = page.console_errors.filter((e) => !expected.test(e));
  check_console(page);
}

/** Nothing on the page is wider than its viewport (no sideways scrolling on a phone). */
export async function assert_fits(page) {
  const [scroll, inner] = await page.evaluate(() => [document.documentElement.scrollWidth, innerWidth]);
  assert.ok(scroll <= inner, `the page is ${scroll} px wide in a ${inner} px viewport`);
}

// ---- video (video_*.test.mjs) ----

/**
 * Keeps every RTCPeerConnection the pages of `context` create in `window.test_peers`, so a test
 * reads the browser's own getStats() without a hook in the console. Call before the first goto.
 */
export async function keep_peer_connections(context) {
  await context.addInitScript(() => {
    const native = window.RTCPeerConnection;
    window.test_peers = [];
    window.RTCPeerConnection = class extends native {
      constructor(...args) {
        super(...args);
        window.test_peers.push(this);
      }
    };
  });
}

/**
 * The page's peer connections as the browser sees them: [{index, state, policy, frames_decoded,
 * fps, local_type, remote_type, rtt_ms}], in creation order.
 */
export function peer_stats(page) {
  return page.evaluate(async () => Promise.all(window.test_peers.map(async (pc, index) => {
    const report = pc.connectionState === 'closed' ? new Map() : await pc.getStats();
    const out = { index, state: pc.connectionState, policy: pc.getConfiguration().iceTransportPolicy,
                  frames_decoded: 0, fps: null, local_type: null, remote_type: null, rtt_ms: null };
    for (const s of report.values()) {
      if (s.type === 'inbound-rtp' && s.kind === 'video') {
        out.frames_decoded = s.framesDecoded ?? 0;
        out.fps = s.framesPerSecond ?? null;
      }
      if (s.type === 'transport' && s.selectedCandidatePairId) {
        const pair = report.get(s.selectedCandidatePairId);
        out.local_type = report.get(pair?.localCandidateId)?.candidateType ?? null;
        out.remote_type = report.get(pair?.remoteCandidateId)?.candidateType ?? null;
        out.rtt_ms = pair?.currentRoundTripTime === undefined ? null : pair.currentRoundTripTime * 1000;
      }
    }
    return out;
  })));
}

/**
 * What a video test stands on, started in `t` (a scope): coturn (unless `turn` is false, then the
 * relay has no TURN provider) with `coturn_flags`, relayd handing out its credentials with `ttl`,
 * an owner with a robot `device_id` and robot.py online for it with `robot_args` (unless
 * `robot` is false); `relay_env` adds relayd settings. {relay, email, token, device, robot}.
 */
export async function video_setup(t, { device_id, turn = true, ttl = 3600, coturn_flags = [], relay_env = {}, robot = true,
                                        robot_args = [] }) {
  const server = turn ? t.add(await coturn.start(t.dir, randomBytes(16).toString('hex'), coturn_flags)) : null;
  const relay = t.add(await relayd.start(t.dir, { ...(server ? server.relay_env(ttl) : {}), ...relay_env }));
  const email = `owner-${randomBytes(4).toString('hex')}@example.com`;
  const token = await relay.user(email);
  const device = await relay.device(token, 'Rover', device_id);
  let started = null;
  if (robot) {
    started = t.add(await python_robot.start(t.dir, relay, device, robot_args));
    await robot_online(relay, token, device.device_id);
  }
  return { relay, email, token, device, robot: started };
}

/**
 * A console page of the user `email` (a fresh context: another person) at `size`, on the Video
 * tab of `device_id`, its peer connections kept (keep_peer_connections); "Relay only" ticked
 * when `relay_only`, and Start clicked when `start`.
 */
export async function video_page(browser, relay, email, device_id, { size = 'desktop', relay_only = false, start = false } = {}) {
  const page = await open_console(browser, relay, { size, path: null });
  await keep_peer_connections(page.context());
  await sign_in(page, email);
  await page.goto(`/console/#/devices/${device_id}/video`);
  await page.waitForSelector('#video-start');
  if (relay_only) await page.check('input[name=relay_only]');
  if (start) await page.click('#video-start');
  return page;
}

/** Stop, the view ends, and the page's console stayed clean. */
export async function stop_video(page) {
  await page.click('#video-stop');
  await page.waitForSelector('.video-status[data-state="ended"]');
  check_console(page);
}

/**
 * The command line the console shows under `name` (its data-copy block, e.g. 'robot-py'), as a
 * person would paste it: {text, pythonpath, secret, program, args}.
 */
export async function shown_command(page, name) {
  const text = (await page.locator(`pre[data-copy=${name}]`).textContent()).trim();
  const m = /^(?:PYTHONPATH=(\S+) )?(?:RELAY_DEVICE_SECRET='([A-Za-z0-9_-]{43})' )?(\S+) (.+)$/.exec(text);
  assert.ok(m, `a command line: ${text}`);
  return { text, pythonpath: m[1] ?? null, secret: m[2] ?? null, program: m[3], args: m[4].split(' ') };
}
