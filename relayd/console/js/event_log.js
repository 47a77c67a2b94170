// What each robot said since the page opened: a bounded log per device, fed by the socket from
// sign-in on, so the Events tab shows what arrived while it was not open (and the history the
// relay still kept when the page opened: socket.js resumes every device from 0 at first).
//
// Entries, oldest first, in the robot's order (by seq: a replay may bring older events after
// newer live ones); the relay's presence events where they arrived; and markers where the feed
// lost events ('lost') or reconnected without loss ('resumed').
//   {id, kind: 'event'|'presence'|'lost'|'resumed', device_id, key (seq order), …}
// Event 'change' (detail.device_id) whenever a device's log changes.

/** Entries kept per device; the oldest go first. */
export const log_limit = 500;

export class event_log extends EventTarget {
  #logs = new Map(); // device_id → {entries: [], added: number of entries ever added}
  #next_id = 0;

  /** `socket`: socket.js's app_socket, whose events, gaps and resumes are logged. */
  constructor(socket) {
    super();
    socket.addEventListener('message', (e) => {
      const m = e.detail;
      if (m.type !== 'event' || typeof m.device_id !== 'string') return;
      if (Number.isInteger(m.seq)) {
        this.#add({ kind: 'event', device_id: m.device_id, key: m.seq, seq: m.seq, event: m.event, ts: m.ts,
                    data: m.data, message: m });
      } else {
        this.#add({ kind: 'presence', device_id: m.device_id, event: m.event, ts: m.ts, message: m });
      }
    });
    socket.addEventListener('gap', (e) => {
      const g = e.detail;
      this.#add({ kind: 'lost', device_id: g.device_id, key: g.from_seq - 0.5, from_seq: g.from_seq, to_seq: g.to_seq,
                  reason: g.reason, at: new Date().toISOString() });
    });
    socket.addEventListener('resumed', (e) => {
      const r = e.detail;
      if (r.initial || r.lost.length > 0) return; // history, or a loss already marked
      this.#add({ kind: 'resumed', device_id: r.device_id, key: r.after_seq + 0.5, after_seq: r.after_seq,
                  to_seq: r.to_seq, at: new Date().toISOString() });
    });
  }

  /** A device's entries, oldest first (do not modify). */
  entries(device_id) { return this.#logs.get(device_id)?.entries ?? []; }

  /** How many entries a device's log ever took (counts what arrived while a view was paused). */
  added(device_id) { return this.#logs.get(device_id)?.added ?? 0; }

  /** The event names seen for a device, sorted. */
  names(device_id) {
    return [...new Set(this.entries(device_id).filter((x) => x.event).map((x) => x.event))].sort();
  }

  /** Forgets everything (sign-out). */
  clear() {
    const ids = [...this.#logs.keys()];
    this.#logs.clear();
    for (const device_id of ids) this.dispatchEvent(new CustomEvent('change', { detail: { device_id } }));
  }

  #add(entry) {
    entry.id = ++this.#next_id;
    let log = this.#logs.get(entry.device_id);
    if (!log) {
      log = { entries: [], added: 0 };
      this.#logs.set(entry.device_id, log);
    }
    const list = log.entries;
    // Keyed entries (events, markers) go after the last one with a smaller key; presence events
    // stay where they arrived unless they are younger than the event being placed.
    let at = list.length;
    if (entry.key !== undefined) {
      while (at > 0) {
        const x = list[at - 1];
        const later = x.key !== undefined ? x.key > entry.key : (entry.ts === undefined || x.ts > entry.ts);
        if (!later) break;
        at -= 1;
      }
    }
    list.splice(at, 0, entry);
    log.added += 1;
    if (list.length > log_limit) list.splice(0, list.length - log_limit);
    this.dispatchEvent(new CustomEvent('change', { detail: { device_id: entry.device_id } }));
  }
}
