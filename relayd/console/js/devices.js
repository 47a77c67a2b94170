// What the console knows of the user's robots: GET /api/devices, kept live by the socket's
// auth_ok list and the relay's presence events (robot_connected / robot_disconnected).
// Event 'change' whenever any device changes.
//
// The relay tells a live socket nothing when a robot is shared with its user (docs/protocol.md,
// "Membership changes"), but that robot's events start arriving at once: an event of a robot the
// store does not know reads the list again. A robot that connects says `hello` (capabilities,
// firmware) just after its robot_connected, so the store reads that robot again shortly after.

const hello_delays_ms = [1000, 3000]; // after robot_connected: when to read the robot again

export class device_store extends EventTarget {
  #session;
  #devices = new Map(); // device_id → {device_id, name, role, online, last_seen, capabilities, …}
  #loaded = false;
  #loading = null;
  #timers = new Set();

  constructor(session, socket) {
    super();
    this.#session = session;
    socket.addEventListener('ready', (e) => {
      for (const d of e.detail.devices ?? []) this.#merge(d);
      // The list on auth_ok is the truth for this moment: devices gone since are gone.
      const ids = new Set((e.detail.devices ?? []).map((d) => d.device_id));
      for (const id of [...this.#devices.keys()]) if (!ids.has(id)) this.#devices.delete(id);
      this.#changed();
    });
    socket.addEventListener('message', (e) => {
      const m = e.detail;
      if (m.type !== 'event' || typeof m.device_id !== 'string') return;
      const d = this.#devices.get(m.device_id);
      if (!d) {
        if (this.#loaded) this.load().catch(() => {});
        return;
      }
      if (m.event === 'robot_connected' || m.event === 'robot_disconnected') {
        d.online = m.event === 'robot_connected';
        d.last_seen = m.ts ?? d.last_seen;
        this.#changed();
        if (d.online) this.#read_after_hello(m.device_id);
      } else if (m.ts) {
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
    this.#loading ??= this.#session.request('GET', '/api/devices').then((list) => {
      this.#devices.clear();
      for (const d of list) this.#devices.set(d.device_id, { ...d });
      this.#loaded = true;
      this.#changed();
      return this.list();
    }).finally(() => { this.#loading = null; });
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
    this.#devices.clear();
    this.#loaded = false;
    this.#changed();
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

  #changed() { this.dispatchEvent(new CustomEvent('change')); }
}
