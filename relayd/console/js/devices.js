// What the console knows of the user's robots: GET /api/devices, kept live by the socket's
// auth_ok list and the relay's presence events (robot_connected / robot_disconnected).
// Event 'change' after devices changed: one per animation frame at most, however many events
// came in it (a replay after a reconnect brings hundreds; the robot list redraws on each).
//
// The relay tells a live socket nothing when a robot is shared with its user (docs/protocol.md,
// "Membership changes"), but that robot's events start arriving at once: an event of a robot the
// store does not know reads the list again (at most once per unknown_read_ms, so a relay whose
// GET fails is not hammered by every event). A robot that connects says `hello` (capabilities,
// firmware) just after its robot_connected, so the store reads that robot again shortly after.
// A GET /api/devices answer is a snapshot from when the relay read it: presence that reached the
// socket while it was in flight is newer, and is applied over it.

const hello_delays_ms = [1000, 3000]; // after robot_connected: when to read the robot again
const unknown_read_ms = 5000;         // at most one list read per this, for unknown robots' events

/** Whether timestamp `ts` (ISO 8601) is later than `than` (or `than` is none). */
function later(ts, than) {
  if (!than) return true;
  const a = Date.parse(ts);
  const b = Date.parse(than);
  return Number.isNaN(b) || (!Number.isNaN(a) && a > b);
}

export class device_store extends EventTarget {
  #session;
  #devices = new Map(); // device_id → {device_id, name, role, online, last_seen, capabilities, …}
  #loaded = false;
  #loading = null;
  #timers = new Set();
  #seen_while_loading = null; // [{device_id, online, last_seen?, connected?}]: presence during a load
  #last_unknown_read = -Infinity; // performance.now() of the last read for an unknown robot
  #unknown_timer = null;
  #unknown_ids = new Set(); // robots whose events came while the list did not have them
  #change_pending = false;

  constructor(session, socket) {
    super();
    this.#session = session;
    socket.addEventListener('ready', (e) => {
      for (const d of e.detail.devices ?? []) {
        this.#merge(d);
        if (typeof d.online === 'boolean') this.#seen_while_loading?.push({ device_id: d.device_id, online: d.online });
      }
      // The list on auth_ok is the truth for this moment: devices gone since are gone.
      const ids = new Set((e.detail.devices ?? []).map((d) => d.device_id));
      for (const id of [...this.#devices.keys()]) if (!ids.has(id)) this.#devices.delete(id);
      this.#changed();
    });
    socket.addEventListener('message', (e) => {
      const m = e.detail;
      if (m.type !== 'event' || typeof m.device_id !== 'string') return;
      const connected = m.event === 'robot_connected';
      const presence = connected || m.event === 'robot_disconnected'
        ? { device_id: m.device_id, online: connected, last_seen: m.ts, connected } : null;
      // Kept even for a robot not known yet: the list being read may bring it, older.
      if (presence) this.#seen_while_loading?.push(presence);
      const d = this.#devices.get(m.device_id);
      if (!d) {
        if (this.#loaded) this.#read_for_unknown(m.device_id);
        return;
      }
      if (presence) {
        this.#apply_presence(d, presence);
        this.#changed();
      } else if (m.ts && later(m.ts, d.last_seen)) {
        // Replayed events (a resume) are older than what the store may already know.
        d.last_seen = m.ts;
        this.#changed();
      }
    });
  }

  get loaded() { return this.#loaded; }

  /** Every device, sorted by name. */
  list() { return [...this.#devices.values()].sort((a, b) => a.name.localeCompare(b.name)); }

  get(device_id) { return this.#devices.get(device_id); }

  /** Reads GET /api/devices (throws api_error); calls at the same time share one request. */
  load() {
    if (this.#loading) return this.#loading;
    const seen = this.#seen_while_loading = [];
    this.#loading = this.#session.request('GET', '/api/devices').then((list) => {
      this.#devices.clear();
      for (const d of list) this.#devices.set(d.device_id, { ...d });
      for (const p of seen) {
        const d = this.#devices.get(p.device_id);
        if (d) this.#apply_presence(d, p);
      }
      this.#loaded = true;
      this.#changed();
      return this.list();
    }).finally(() => {
      this.#loading = null;
      if (this.#seen_while_loading === seen) this.#seen_while_loading = null;
    });
    return this.#loading;
  }

  /** Reads one device again (GET /api/devices/{id}); a 404 removes it. Its fields, or null. */
  async reload(device_id) {
    try {
      const d = await this.#session.request('GET', `/api/devices/${encodeURIComponent(device_id)}`);
      this.update(device_id, d);
      return this.get(device_id);
    } catch (error) {
      if (error.status !== 404) throw error;
      this.update(device_id, null);
      return null;
    }
  }

  /** Merges a device's fields (after a rename, an add…), or removes it with `null`. */
  update(device_id, fields) {
    if (fields === null) this.#devices.delete(device_id);
    else this.#merge({ device_id, ...fields });
    this.#changed();
  }

  clear() {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    clearTimeout(this.#unknown_timer);
    this.#unknown_timer = null;
    this.#unknown_ids.clear();
    this.#seen_while_loading = null;
    this.#devices.clear();
    this.#loaded = false;
    this.#changed();
  }

  /** Reads the list for an event of robot `device_id` not in it: now, or once the pause is over. */
  #read_for_unknown(device_id) {
    this.#unknown_ids.add(device_id);
    if (this.#unknown_timer !== null) return; // a read is already due
    const wait = this.#last_unknown_read + unknown_read_ms - performance.now();
    const read = () => {
      this.#unknown_timer = null;
      for (const id of this.#unknown_ids) if (this.#devices.has(id)) this.#unknown_ids.delete(id);
      if (!this.#loaded || this.#unknown_ids.size === 0) return;
      this.#unknown_ids.clear();
      this.#last_unknown_read = performance.now();
      this.load().catch(() => {});
    };
    if (wait <= 0) read();
    else this.#unknown_timer = setTimeout(read, wait);
  }

  /**
   * Presence `p` ({online, last_seen?, connected?}) onto device `d`: last_seen only moves forward;
   * a robot that has just connected is read again after its hello (newer than any list).
   */
  #apply_presence(d, p) {
    d.online = p.online;
    if (p.last_seen && later(p.last_seen, d.last_seen)) d.last_seen = p.last_seen;
    if (p.connected) this.#read_after_hello(d.device_id);
  }

  #read_after_hello(device_id) {
    for (const delay of hello_delays_ms) {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        if (this.#devices.get(device_id)?.online) this.reload(device_id).catch(() => {});
      }, delay);
      this.#timers.add(timer);
    }
  }

  #merge(d) {
    this.#devices.set(d.device_id, { ...(this.#devices.get(d.device_id) ?? {}), ...d });
  }

  #changed() {
    if (this.#change_pending) return;
    this.#change_pending = true;
    requestAnimationFrame(() => {
      this.#change_pending = false;
      this.dispatchEvent(new CustomEvent('change'));
    });
  }
}
