// The console's one /ws/app socket (docs/protocol.md, "/ws/app"): authenticates with a first
// message (the token stays out of URLs and logs), renews with the session's fresh tokens,
// reconnects with back-off, and resumes every device from the last seq it saw, so the event
// feed has no gap the relay could fill — and says so when the relay could not.
//
// Position per device: every seq up to `upto` was seen (or is known lost), plus the seqs seen
// above it. A replay's events may arrive after newer live ones (the relay sends live events
// from the moment of auth_ok, and a resume's replay after them: docs/protocol.md, "Resume"),
// so "seq <= highest seen" is no test for a repeat: a seq is a repeat when it is <= upto or
// already seen above it. On auth_ok every device is resumed from `upto` — from 0 when the page
// knows nothing of it yet, which brings the events the relay still keeps from before the page
// opened (history, not a loss). Once `resumed` arrives, any seq in (after_seq, to_seq] that
// did not come is lost, and said so with 'gap'.
//
// Events: 'state' (detail.state: 'connecting' | 'open' | 'closed'), 'ready' (detail: auth_ok),
// 'message' (detail: every message from the relay, events and replayed events included, each
// robot event once), 'gap' (detail: {device_id, from_seq, to_seq, reason}: events that are lost
// for good), 'resumed' (detail: {device_id, after_seq, from_seq, to_seq, complete, initial,
// lost: [[from, to]…]}: a resume has ended; `initial` when it was the page's first look at the
// device's history).

let next_id = 0;

/** A fresh message id: unique within this page. */
export function message_id(prefix = 'c') {
  next_id += 1;
  return `${prefix}-${Date.now().toString(36)}-${next_id}`;
}

export class app_socket extends EventTarget {
  #session;
  #ws = null;
  #state = 'closed';
  #wanted = false;
  #attempt = 0;
  #retry = null;
  #seen = new Map();     // device_id → {upto, above: Set of seqs > upto seen}
  #resuming = new Map(); // device_id → after_seq of the resume in flight on this connection
  #queued = new Set();   // device_ids whose resume waits in #resume_all's pacing on this connection
  #auth_token = null;    // the access token this connection authenticated (or renewed) with
  #pending = new Map();  // id → {resolve, reject, timer, done}
  #on_token;

  /** `session`: api.js's session, whose tokens this socket authenticates and renews with. */
  constructor(session) {
    super();
    this.#session = session;
    // A token that comes while the socket waits for auth_ok is sent once auth_ok arrives (#renew
    // there): a second `auth` is only a renewal on an authenticated socket (docs/protocol.md).
    this.#on_token = () => { if (this.#state === 'open') this.#renew(); };
  }

  get state() { return this.#state; }

  /** The highest seq seen for a device (undefined before any). */
  last_seq(device_id) {
    const s = this.#seen.get(device_id);
    if (!s) return undefined;
    return Math.max(s.upto, ...s.above);
  }

  start() {
    if (this.#wanted) return;
    this.#wanted = true;
    this.#session.addEventListener('token', this.#on_token);
    this.#connect();
  }

  stop() {
    this.#wanted = false;
    this.#session.removeEventListener('token', this.#on_token);
    clearTimeout(this.#retry);
    this.#ws?.close(1000, 'signed out');
    this.#ws = null;
    this.#seen.clear();
    this.#resuming.clear();
    this.#queued.clear();
    this.#fail_pending('CLOSED', 'the console closed its connection');
    this.#set_state('closed');
  }

  /** Sends a message if the socket is open; false otherwise. */
  send(message) {
    if (this.#state !== 'open') return false;
    this.#ws.send(JSON.stringify(message));
    return true;
  }

  /**
   * Sends `message` with a fresh `id` (unless it has one) and resolves with the first answer
   * whose `ref` is that id (an http_response's or command_result's `id`) and for which
   * `accept(answer)` is true (default: any). An `error`
   * with that ref rejects (error.code, error.message). Times out after `timeout_ms`.
   */
  request(message, { accept = () => true, timeout_ms = 20000 } = {}) {
    const id = message.id ?? message_id();
    const sent = { ...message, id };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.#settle(id, null, { code: 'DEVICE_TIMEOUT', message: 'no answer in time' }),
                               timeout_ms);
      this.#pending.set(id, { resolve, reject, timer, accept });
      if (!this.send(sent)) this.#settle(id, null, { code: 'NETWORK', message: 'not connected to the relay' });
    });
  }

  #settle(id, value, error) {
    const p = this.#pending.get(id);
    if (!p) return;
    this.#pending.delete(id);
    clearTimeout(p.timer);
    if (error) {
      const e = new Error(error.message ?? error.code);
      e.code = error.code;
      p.reject(e);
    } else {
      p.resolve(value);
    }
  }

  #fail_pending(code, message) {
    for (const id of [...this.#pending.keys()]) this.#settle(id, null, { code, message });
  }

  #set_state(state) {
    if (this.#state === state) return;
    this.#state = state;
    this.dispatchEvent(new CustomEvent('state', { detail: { state } }));
  }

  #connect() {
    if (!this.#wanted) return;
    if (!this.#session.signed_in) {
      // Signed out or waiting for a refresh: try again shortly.
      this.#schedule();
      return;
    }
    this.#set_state('connecting');
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws/app`;
    const ws = new WebSocket(url);
    this.#ws = ws;
    ws.onopen = () => {
      this.#auth_token = this.#session.access_token;
      ws.send(JSON.stringify({ type: 'auth', token: this.#auth_token }));
    };
    ws.onmessage = (e) => {
      let message;
      try { message = JSON.parse(e.data); } catch { return; }
      this.#receive(message);
    };
    ws.onclose = (e) => {
      if (this.#ws !== ws) return;
      this.#ws = null;
      // A replay ends with its connection: the next one resumes from the same place again.
      this.#resuming.clear();
      this.#queued.clear();
      this.#fail_pending('NETWORK', 'the connection to the relay closed');
      this.#set_state('closed');
      if (!this.#wanted) return;
      // 4401: the token ended (expired, logged out elsewhere): a refresh decides whether we
      // are still signed in; the session signs out by itself when it cannot.
      if (e.code === 4401) {
        this.#session.refresh().then(() => this.#schedule(0), () => this.#schedule());
        return;
      }
      this.#schedule();
    };
  }

  #schedule(delay_ms) {
    clearTimeout(this.#retry);
    if (!this.#wanted) return;
    if (delay_ms === undefined) {
      // 0.5 s doubling to 15 s, with jitter so a relay restart is not met by every tab at once.
      const base = Math.min(15000, 500 * 2 ** this.#attempt);
      delay_ms = base / 2 + Math.random() * base / 2;
      this.#attempt += 1;
    }
    this.#retry = setTimeout(() => this.#connect(), delay_ms);
  }

  /** Sends the session's newest access token on the open socket, unless it already has it. */
  #renew() {
    const token = this.#session.access_token;
    if (!token || token === this.#auth_token) return;
    this.#auth_token = token;
    this.#ws.send(JSON.stringify({ type: 'auth', token }));
  }

  #resume(device_id) {
    // One resume per device in flight (decision 16): a second one is refused with BAD_MESSAGE.
    if (this.#resuming.has(device_id)) return;
    let s = this.#seen.get(device_id);
    if (!s) {
      // No position yet: from 0, and a live event that overtakes the replay must not make the
      // replayed ones look like repeats.
      s = { upto: 0, above: new Set() };
      this.#seen.set(device_id, s);
    }
    this.#resuming.set(device_id, s.upto);
    this.#ws.send(JSON.stringify({ type: 'resume', device_id, after_seq: s.upto }));
  }

  /**
   * Resumes `ids`, 40 a second: the relay's rate limit (50/s, burst 100) must not drop any. A
   * device waiting its turn is in #queued: a live event neither resumes it early nor sets its
   * position (the queued resume brings everything from its position).
   */
  #resume_all(ids) {
    const ws = this.#ws;
    for (const device_id of ids) this.#queued.add(device_id);
    const step = () => {
      if (this.#ws !== ws || this.#state !== 'open') return; // a new connection resumes anew
      for (const device_id of ids.splice(0, 40)) {
        this.#queued.delete(device_id);
        this.#resume(device_id);
      }
      if (ids.length > 0) setTimeout(step, 1000);
    };
    step();
  }

  /** Records a robot event's seq; false when it was already seen (a repeat to drop). */
  #take_seq(device_id, seq) {
    let s = this.#seen.get(device_id);
    if (!s) {
      // The first event of a device this page had no position for: one whose resume from 0 is
      // still queued starts at 0 (the resume brings the history before this event); one added
      // since auth_ok starts here.
      s = { upto: this.#queued.has(device_id) ? 0 : seq - 1, above: new Set() };
      this.#seen.set(device_id, s);
    }
    if (seq <= s.upto || s.above.has(seq)) return false;
    s.above.add(seq);
    while (s.above.delete(s.upto + 1)) s.upto += 1;
    if (s.above.size > 0 && !this.#resuming.has(device_id) && !this.#queued.has(device_id)) {
      // A hole on a live connection (not expected: the relay delivers in order, but its seq
      // jumps after a restart): ask the relay for what it still has, and hear what it lost.
      this.#resume(device_id);
    }
    return true;
  }

  /** A resume ended: every seq in (after_seq, to_seq] not seen is lost (unless it was history). */
  #resumed(message) {
    const device_id = message.device_id;
    const after_seq = this.#resuming.get(device_id);
    if (after_seq === undefined) return;
    this.#resuming.delete(device_id);
    const initial = after_seq === 0;
    let s = this.#seen.get(device_id);
    if (!s) {
      s = { upto: after_seq, above: new Set() };
      this.#seen.set(device_id, s);
    }
    const lost = [];
    const to_seq = Math.max(message.to_seq, after_seq);
    let next = Math.max(s.upto, after_seq) + 1;
    for (const seq of [...s.above].sort((a, b) => a - b)) {
      if (seq > to_seq) break;
      if (seq > next) lost.push([next, seq - 1]);
      next = seq + 1;
    }
    if (next <= to_seq) lost.push([next, to_seq]);
    // Whatever is lost is lost: the position moves past it, so it is reported once.
    if (to_seq > s.upto) s.upto = to_seq;
    for (const seq of s.above) if (seq <= s.upto) s.above.delete(seq);
    while (s.above.delete(s.upto + 1)) s.upto += 1;
    const reported = initial ? [] : lost;
    for (const [from_seq, last] of reported) {
      this.dispatchEvent(new CustomEvent('gap', { detail: {
        device_id, from_seq, to_seq: last,
        reason: message.complete === false ? 'the relay no longer had them' : 'the relay did not send them' } }));
    }
    this.dispatchEvent(new CustomEvent('resumed', { detail: {
      device_id, after_seq, from_seq: message.from_seq, to_seq: message.to_seq, complete: message.complete,
      initial, lost: reported } }));
  }

  #receive(message) {
    if (message.type === 'auth_ok') {
      this.#attempt = 0;
      this.#set_state('open');
      this.#renew(); // a token that came while this connection authenticated
      // Every device from its position (0: whatever the relay still keeps); a device no longer
      // in the list is gone (removed, or access revoked) and forgotten.
      const ids = new Set((message.devices ?? []).map((d) => d.device_id));
      for (const device_id of [...this.#seen.keys()]) if (!ids.has(device_id)) this.#seen.delete(device_id);
      this.#resume_all([...ids]);
      this.dispatchEvent(new CustomEvent('ready', { detail: message }));
      return;
    }
    if (message.type === 'event' && Number.isInteger(message.seq)) {
      if (!this.#take_seq(message.device_id, message.seq)) return; // a repeat: already delivered
    }
    // Answers name their request by `ref`; http_response and command_result by `id`.
    const ref = typeof message.ref === 'string' ? message.ref
      : (message.type === 'http_response' || message.type === 'command_result') ? message.id : null;
    if (typeof ref === 'string' && this.#pending.has(ref)) {
      if (message.type === 'error') this.#settle(ref, null, message);
      else if (this.#pending.get(ref).accept(message)) this.#settle(ref, message);
    }
    this.dispatchEvent(new CustomEvent('message', { detail: message }));
    if (message.type === 'resumed') this.#resumed(message);
  }
}
