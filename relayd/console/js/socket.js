// The console's one /ws/app socket (docs/protocol.md, "/ws/app"): authenticates with a first
// message (the token stays out of URLs and logs), renews with the session's fresh tokens,
// reconnects with back-off, and resumes every device from the last seq it saw, so the event
// feed has no gap the relay could fill — and says so when the relay could not.
//
// Events: 'state' (detail.state: 'connecting' | 'open' | 'closed'), 'ready' (detail: auth_ok),
// 'message' (detail: every message from the relay, events and replayed events included),
// 'gap' (detail: {device_id, from_seq, to_seq, reason}: events that are lost for good).

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
  #last_seq = new Map(); // device_id → the highest seq seen
  #pending = new Map();  // id → {resolve, reject, timer, done}
  #on_token;

  /** `session`: api.js's session, whose tokens this socket authenticates and renews with. */
  constructor(session) {
    super();
    this.#session = session;
    this.#on_token = (e) => {
      if (this.#state === 'open') this.#ws.send(JSON.stringify({ type: 'auth', token: e.detail.access_token }));
    };
  }

  get state() { return this.#state; }

  /** The highest seq seen per device (the feed's position). */
  last_seq(device_id) { return this.#last_seq.get(device_id); }

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
    this.#last_seq.clear();
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
   * whose `ref` is that id and for which `accept(answer)` is true (default: any). An `error`
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
    ws.onopen = () => ws.send(JSON.stringify({ type: 'auth', token: this.#session.access_token }));
    ws.onmessage = (e) => {
      let message;
      try { message = JSON.parse(e.data); } catch { return; }
      this.#receive(message);
    };
    ws.onclose = (e) => {
      if (this.#ws !== ws) return;
      this.#ws = null;
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

  #receive(message) {
    if (message.type === 'auth_ok') {
      this.#attempt = 0;
      this.#set_state('open');
      // Everything after the last seq seen, for every device seen before this connection.
      for (const [device_id, after_seq] of this.#last_seq)
        this.#ws.send(JSON.stringify({ type: 'resume', device_id, after_seq }));
      this.dispatchEvent(new CustomEvent('ready', { detail: message }));
      return;
    }
    if (message.type === 'event' && Number.isInteger(message.seq)) {
      const last = this.#last_seq.get(message.device_id);
      if (last !== undefined && message.seq <= last) return; // already shown (a replay overlapping live)
      if (last !== undefined && message.seq > last + 1) {
        // The relay delivers a device's events in order and closes a socket it cannot keep up
        // with rather than skip (docs/protocol.md), so this is not expected; say so if it happens.
        this.dispatchEvent(new CustomEvent('gap', { detail: { device_id: message.device_id, from_seq: last + 1,
                                                              to_seq: message.seq - 1, reason: 'skipped' } }));
      }
      this.#last_seq.set(message.device_id, message.seq);
    }
    if (message.type === 'resumed' && message.complete === false) {
      this.dispatchEvent(new CustomEvent('gap', { detail: { device_id: message.device_id, from_seq: message.from_seq,
                                                            to_seq: message.to_seq, reason: 'beyond the relay\'s buffer' } }));
    }
    if (typeof message.ref === 'string' && this.#pending.has(message.ref)) {
      if (message.type === 'error') this.#settle(message.ref, null, message);
      else if (this.#pending.get(message.ref).accept(message)) this.#settle(message.ref, message);
    }
    this.dispatchEvent(new CustomEvent('message', { detail: message }));
  }
}
