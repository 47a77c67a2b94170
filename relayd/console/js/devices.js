// What the console knows of the user's robots: GET /api/devices, kept live by the socket's
// auth_ok list and the relay's presence events (robot_connected / robot_disconnected).
// Event 'change' whenever any device changes.

export class device_store extends EventTarget {
  #session;
  #devices = new Map(); // device_id → {device_id, name, role, online, last_seen, capabilities}
  #loaded = false;

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
      if (m.type !== 'event') return;
      if (m.event === 'robot_connected' || m.event === 'robot_disconnected') {
        const d = this.#devices.get(m.device_id);
        if (!d) return;
        d.online = m.event === 'robot_connected';
        if (!d.online) d.last_seen = m.ts;
        this.#changed();
      }
    });
  }

  get loaded() { return this.#loaded; }

  /** Every device, sorted by name. */
  list() { return [...this.#devices.values()].sort((a, b) => a.name.localeCompare(b.name)); }

  get(device_id) { return this.#devices.get(device_id); }

  /** Reads GET /api/devices (throws api_error). */
  async load() {
    const list = await this.#session.request('GET', '/api/devices');
    this.#devices.clear();
    for (const d of list) this.#devices.set(d.device_id, { ...d });
    this.#loaded = true;
    this.#changed();
    return this.list();
  }

  /** Merges a device's fields (after a rename, an add…), or removes it with `null`. */
  update(device_id, fields) {
    if (fields === null) this.#devices.delete(device_id);
    else this.#merge({ device_id, ...fields });
    this.#changed();
  }

  clear() {
    this.#devices.clear();
    this.#loaded = false;
    this.#changed();
  }

  #merge(d) {
    this.#devices.set(d.device_id, { ...(this.#devices.get(d.device_id) ?? {}), ...d });
  }

  #changed() { this.dispatchEvent(new CustomEvent('change')); }
}
