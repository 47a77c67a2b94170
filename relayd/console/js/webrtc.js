// A live video view of one robot over the console's /ws/app socket (docs/webrtc.md): the
// robot offers, this page answers. webrtc_request → webrtc_credentials (matched by `ref`) →
// an RTCPeerConnection on those ICE servers → the robot's webrtc_offer → webrtc_answer, ICE
// candidates trickled both ways, each message routed by its session_id. Sessions outlive their
// TURN credentials by make-before-break (protocol decision 28): at two thirds of the ttl a new
// session `replaces` the old one, the video switches once the new one decodes frames, and the
// old one is closed with reason "replaced".
//
// Events of live_view: 'state' (detail {state: 'connecting'|'live'|'ended', text, session_ids:
// every session the view was given}), 'stream'
// (detail {stream}: show this MediaStream now), 'stats' (detail: see #measure), 'renewal'
// (detail {count, session_id, text}: a renewal succeeded, or failed and will be retried).
import { message_id } from './socket.js';
import { describe_error } from './errors.js';

const renewal_retry_ms = 5000;   // after a failed renewal (the old session keeps running)
const renewal_patience_ms = 20000; // a renewal that decodes no frame by then has failed
const stats_interval_ms = 1000;
const first_frame_poll_ms = 250;  // until the first frame, so "live" shows without delay
const connect_patience_ms = 30000; // after the answer: ICE that has not connected by then failed

/** Words for why a session ended: the `reason` of a webrtc_close (docs/webrtc.md) and who sent it. */
export function describe_close(reason, by) {
  const words = {
    robot_disconnected: 'The robot disconnected from the relay.',
    robot_stopping: 'The robot is shutting down.',
    app_disconnected: 'This console lost its connection to the relay.',
    access_revoked: 'Your access to this robot was removed.',
    offer_timeout: 'The robot did not answer the video request in time (no offer within 30 s). It may be busy or its video is not working.',
    answer_timeout: 'This browser did not answer the robot\'s offer in time.',
    turn_unauthorized: 'The TURN server refused the robot\'s credentials (401): the relay\'s TURN secret or clock is wrong. Its operator can check /health and `relayd turn-check`.',
    no_turn_server: 'The robot was asked for a relayed connection but the relay has no TURN server configured.',
    bad_answer: 'The robot refused this browser\'s answer (no common video format).',
    ice_failed: ice_failed_words,
    replaced: 'The session was replaced by a newer one.',
  };
  if (words[reason]) return words[reason];
  const who = { robot: 'The robot', relay: 'The relay', app: 'This console' }[by] ?? 'The other side';
  return reason ? `${who} ended the video (${reason}).` : `${who} ended the video.`;
}

const ice_failed_words = 'No network path to the robot worked (ICE failed). With "Relay only", the TURN ' +
  'server could not be reached or refused the credentials (the relay\'s /health and `relayd turn-check` say which); ' +
  'without it, this browser and the robot are probably behind NATs that need a TURN server, and the relay may have none.';

const no_turn_words = '"Relay only" needs a TURN server, and this relay hands out none (its operator sets ' +
  'RELAY_TURN_PROVIDER). Untick "Relay only" to try a direct connection.';

/** Whether ICE credentials name a TURN server (what "relay only" needs). */
function has_turn(credentials) {
  return (credentials.ice_servers ?? []).some((server) =>
    [server.urls].flat().some((url) => /^turns?:/.test(String(url))));
}

/** "relay" when media goes through TURN on either side, else the local candidate's type. */
function connection_type(local, remote) {
  if (!local || !remote) return null;
  return local.candidateType === 'relay' || remote.candidateType === 'relay' ? 'relay' : local.candidateType;
}

/** One WebRTC session: its peer connection and what we measured of it. */
class peer_session {
  constructor(session_id, credentials, replaces, relay_only) {
    this.session_id = session_id;
    this.credentials = credentials;
    this.replaces = replaces;
    this.received_at = performance.now();
    this.ended = false;
    this.failing = false;       // ICE failed: being reported and closed
    this.connected_once = false;
    this.reported = false;      // webrtc_stats connected sent
    this.first_frame_at = null; // performance.now() when framesDecoded first was > 0
    this.stream = null;
    this.previous = null;       // {at, bytes} of the last stats sample, for the bitrate
    this.chain = Promise.resolve(); // offer and candidates, in the order they came
    this.pc = new RTCPeerConnection({ iceServers: credentials.ice_servers ?? [],
                                      iceTransportPolicy: relay_only ? 'relay' : 'all' });
  }

  /** When to renew (ms, performance.now() clock): two thirds of the ttl after receipt. */
  renew_at() {
    const ttl = Number(this.credentials.ttl);
    return ttl > 0 ? this.received_at + ttl * 1000 * 2 / 3 : null;
  }

  /** The selected candidate pair and the inbound video of a getStats() report. */
  static read(report) {
    let pair = null;
    let video = null;
    for (const s of report.values()) {
      if (s.type === 'transport' && s.selectedCandidatePairId) pair = report.get(s.selectedCandidatePairId) ?? pair;
      if (s.type === 'inbound-rtp' && s.kind === 'video') video = s;
    }
    if (!pair) {
      for (const s of report.values()) if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair = s;
    }
    const local = pair ? report.get(pair.localCandidateId) : null;
    const remote = pair ? report.get(pair.remoteCandidateId) : null;
    return { pair, local, remote, video };
  }
}

export class live_view extends EventTarget {
  #socket;
  #device_id;
  #relay_only;
  #quality;
  #sessions = new Map(); // session_id → peer_session
  #current = null;        // the session shown
  #renewal = null;        // the session being built to replace #current
  #renewing = false;      // a renewal request is in flight or being built
  #renewals = 0;
  #session_ids = [];      // every session this view was given, for the history
  #state = 'idle';
  #started_at = 0;        // performance.now() at start(): time to first frame
  #timer = null;
  #renew_timer = null;
  #renew_due = null;      // ms since the epoch: when the next renewal is tried
  #end_reason = 'view_ended'; // how a session that comes after the view ended is closed
  #on_message;
  #on_socket_state;

  /** `socket`: the console's app_socket; options {relay_only (default false), quality ('auto')}. */
  constructor(socket, device_id, { relay_only = false, quality = 'auto' } = {}) {
    super();
    this.#socket = socket;
    this.#device_id = device_id;
    this.#relay_only = relay_only;
    this.#quality = quality;
    this.#on_message = (e) => this.#receive(e.detail);
    this.#on_socket_state = (e) => {
      // The relay ends every session of a socket that closed (app_disconnected).
      if (e.detail.state === 'closed' && this.active) this.#end(describe_close('app_disconnected'), null);
    };
  }

  get state() { return this.#state; }
  get active() { return this.#state === 'connecting' || this.#state === 'live'; }
  get renewals() { return this.#renewals; }
  /** The session shown now (its id), or null. */
  get session_id() { return this.#current?.session_id ?? null; }

  /** Asks the robot for video. Resolves once the request was answered (or failed: state 'ended'). */
  async start() {
    if (this.active) return;
    this.#started_at = performance.now();
    this.#set_state('connecting', 'Asking the robot for video…');
    try {
      await this.#socket_ready();
      if (!this.active) return;
      this.#socket.addEventListener('message', this.#on_message);
      this.#socket.addEventListener('state', this.#on_socket_state);
      this.#current = await this.#request(null);
    } catch (error) {
      this.#end(describe_error(error.code, error.message), null);
      return;
    }
    if (!this.active) {
      // Stopped or left while the credentials were awaited: the same reason as the view's end.
      this.#close_session(this.#current, this.#end_reason);
      return;
    }
    this.#set_state('connecting', 'Connecting…');
    this.#tick();
  }

  /** Ends the view and every session of it (webrtc_close with `reason`). */
  stop(reason = 'stopped', text = 'Stopped.') {
    if (!this.active) return;
    this.#end(text, reason);
  }

  /** Resolves once the socket is signed in (a page just loaded may still be connecting). */
  #socket_ready(timeout_ms = 15000) {
    if (this.#socket.state === 'open') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.#socket.removeEventListener('ready', on_ready);
      };
      const on_ready = () => { done(); resolve(); };
      const timer = setTimeout(() => {
        done();
        reject(Object.assign(new Error('not connected to the relay'), { code: 'NETWORK' }));
      }, timeout_ms);
      this.#socket.addEventListener('ready', on_ready);
    });
  }

  // ---- sessions ----

  async #request(replaces) {
    const id = message_id('v');
    const message = { type: 'webrtc_request', device_id: this.#device_id, id, media: 'video', quality: this.#quality };
    if (replaces) message.replaces = replaces;
    const answer = await this.#socket.request(message, { accept: (m) => m.type === 'webrtc_credentials' });
    // Created before this task ends, so the robot's offer (a later message) finds it.
    this.#session_ids.push(answer.session_id);
    const credentials = answer.credentials ?? {};
    if (this.#relay_only && !has_turn(credentials)) {
      this.#socket.send({ type: 'webrtc_close', session_id: answer.session_id, reason: 'no_turn_server' });
      throw Object.assign(new Error(no_turn_words), { code: 'NO_TURN_SERVER' });
    }
    const session = new peer_session(answer.session_id, credentials, replaces, this.#relay_only);
    this.#sessions.set(session.session_id, session);
    this.#wire(session);
    return session;
  }

  #wire(session) {
    const { pc, session_id } = session;
    pc.onicecandidate = (e) => {
      // null: this browser has gathered every candidate.
      this.#socket.send({ type: 'webrtc_ice', session_id, candidate: e.candidate ? e.candidate.toJSON() : null });
    };
    pc.ontrack = (e) => {
      session.stream = e.streams[0] ?? new MediaStream([e.track]);
      if (session === this.#current) this.#show(session);
    };
    pc.onconnectionstatechange = () => {
      if (session.ended) return;
      if (pc.connectionState === 'connected') session.connected_once = true;
      if (pc.connectionState === 'connected' && !session.reported) this.#report_connected(session);
      if (pc.connectionState === 'failed') this.#ice_failed(session);
    };
  }

  #show(session) {
    if (session.stream) this.dispatchEvent(new CustomEvent('stream', { detail: { stream: session.stream } }));
  }

  #receive(m) {
    const session = typeof m.session_id === 'string' ? this.#sessions.get(m.session_id) : null;
    if (!session || session.ended) return;
    if (m.type === 'webrtc_offer') this.#queue(session, () => this.#answer(session, m.sdp));
    else if (m.type === 'webrtc_ice') this.#queue(session, () => this.#add_candidate(session, m.candidate));
    else if (m.type === 'webrtc_close') this.#closed_remotely(session, m.reason ?? '', m.by ?? 'relay');
  }

  /** Runs the session's signaling steps one after the other (candidates wait for the offer). */
  #queue(session, step) {
    session.chain = session.chain.then(() => (session.ended ? null : step())).catch((error) => {
      if (!session.ended) this.#session_failed(session, 'bad_offer', `The robot's offer could not be used: ${error.message}`);
    });
  }

  async #answer(session, sdp) {
    const { pc } = session;
    await pc.setRemoteDescription(typeof sdp === 'string' ? { type: 'offer', sdp } : sdp);
    await pc.setLocalDescription(await pc.createAnswer());
    this.#socket.send({ type: 'webrtc_answer', session_id: session.session_id,
                        sdp: { type: pc.localDescription.type, sdp: pc.localDescription.sdp } });
    // Browsers may keep checking for a long time when no pair can work: do not stall on it.
    setTimeout(() => {
      if (!session.ended && !session.connected_once) this.#ice_failed(session);
    }, connect_patience_ms);
  }

  async #add_candidate(session, candidate) {
    try {
      if (candidate && candidate.candidate) await session.pc.addIceCandidate(candidate);
      else await session.pc.addIceCandidate(); // the robot's end of candidates
    } catch (error) {
      // One candidate this browser cannot use is no reason to end the session.
      console.warn('video: candidate ignored', error);
    }
  }

  async #report_connected(session) {
    session.reported = true;
    // The selected pair and its round-trip time come with the ICE checks; wait for them a little.
    let sample = null;
    for (let i = 0; i < 8 && !session.ended; i++) {
      try {
        sample = peer_session.read(await session.pc.getStats());
      } catch {
        return; // the peer connection was closed meanwhile: nothing to report
      }
      if (sample.pair?.currentRoundTripTime !== undefined) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const type = sample ? connection_type(sample.local, sample.remote) : null;
    if (session.ended || type === null) return; // no pair to name: better no report than a wrong one
    const report = { type: 'webrtc_stats', session_id: session.session_id, state: 'connected', connection_type: type };
    const rtt = sample.pair?.currentRoundTripTime;
    if (rtt !== undefined) report.rtt_ms = Math.round(rtt * 10000) / 10;
    this.#socket.send(report);
  }

  #ice_failed(session) {
    if (session.failing || session.ended) return;
    session.failing = true;
    session.pc.getStats().then((report) => {
      const sample = peer_session.read(report);
      const message = { type: 'webrtc_stats', session_id: session.session_id, state: 'failed' };
      const type = connection_type(sample.local, sample.remote);
      if (type) message.connection_type = type;
      this.#socket.send(message);
    }, () => {}).finally(() => this.#session_failed(session, 'ice_failed', ice_failed_words));
  }

  /** A session of ours could not be used: the view ends, or a renewal is retried. */
  #session_failed(session, reason, text) {
    if (session.ended) return;
    this.#close_session(session, reason);
    if (session === this.#current) this.#end(text, 'view_ended'); // and a renewal being built, if any
    else this.#renewal_failed(session, text);
  }

  #closed_remotely(session, reason, by) {
    this.#close_session(session, null);
    if (session === this.#renewal) {
      this.#renewal_failed(session, describe_close(reason, by));
    } else if (session === this.#current) {
      // The relay may close the old session first (RELAY_WEBRTC_REPLACE_GRACE): show the new one.
      // Any other end of it ends the view, and a renewal being built is closed on the relay too
      // (the current one is closed already): it would hold a session slot of the robot.
      if (reason === 'replaced' && this.#renewal && !this.#renewal.ended) this.#switch();
      else this.#end(describe_close(reason, by), 'view_ended');
    }
  }

  /** Ends one session: webrtc_close to the relay when `reason` is not null (we end it). */
  #close_session(session, reason) {
    if (!session || session.ended) return;
    session.ended = true;
    this.#sessions.delete(session.session_id);
    if (reason !== null) {
      const message = { type: 'webrtc_close', session_id: session.session_id };
      if (reason) message.reason = reason;
      this.#socket.send(message);
    }
    session.pc.close();
  }

  #end(text, reason) {
    this.#end_reason = reason ?? 'view_ended';
    for (const session of [...this.#sessions.values()]) this.#close_session(session, reason);
    clearTimeout(this.#timer);
    clearTimeout(this.#renew_timer);
    this.#renew_due = null;
    this.#socket.removeEventListener('message', this.#on_message);
    this.#socket.removeEventListener('state', this.#on_socket_state);
    this.#renewal = null;
    this.#renewing = false;
    this.#set_state('ended', text);
  }

  #set_state(state, text) {
    this.#state = state;
    this.dispatchEvent(new CustomEvent('state', { detail: { state, text, session_ids: [...this.#session_ids] } }));
  }

  // ---- renewal (decision 28) ----

  #schedule_renewal(delay_ms) {
    clearTimeout(this.#renew_timer);
    this.#renew_due = Date.now() + Math.max(0, delay_ms);
    this.#renew_timer = setTimeout(() => this.#renew(), Math.max(0, delay_ms));
  }

  async #renew() {
    const old = this.#current;
    this.#renew_due = null;
    if (!this.active || !old || old.ended || this.#renewing) return;
    this.#renewing = true;
    let session;
    try {
      session = await this.#request(old.session_id);
    } catch (error) {
      this.#renewal_failed(null, describe_error(error.code, error.message));
      return;
    }
    if (!this.active || old !== this.#current || old.ended) {
      this.#close_session(session, this.active ? 'view_ended' : this.#end_reason);
      return;
    }
    this.#renewal = session;
    // A renewal that shows no frame in time is given up; the old session still runs.
    setTimeout(() => {
      if (this.#renewal === session && session.first_frame_at === null)
        this.#session_failed(session, 'renewal_timeout', 'The new session showed no video in time.');
    }, renewal_patience_ms);
  }

  #renewal_failed(session, text) {
    if (session && session !== this.#renewal) return;
    this.#renewal = null;
    this.#renewing = false;
    if (!this.active) return;
    this.dispatchEvent(new CustomEvent('renewal', { detail: { count: this.#renewals, session_id: this.session_id,
      text: `Renewal failed: ${text} Trying again in ${renewal_retry_ms / 1000} s; the current video continues.` } }));
    this.#schedule_renewal(renewal_retry_ms);
  }

  /** The renewal decodes frames: show it, close the session it replaces. */
  #switch() {
    const old = this.#current;
    const next = this.#renewal;
    this.#current = next;
    this.#renewal = null;
    this.#renewing = false;
    this.#renewals += 1;
    this.#show(next);
    this.#close_session(old, 'replaced');
    this.dispatchEvent(new CustomEvent('renewal', { detail: { count: this.#renewals, session_id: next.session_id,
      replaced: old.session_id, text: null } }));
    this.#schedule_renewal(next.renew_at() - performance.now());
  }

  // ---- stats ----

  async #tick() {
    clearTimeout(this.#timer);
    if (!this.active) return;
    const current = this.#current;
    try {
      if (this.#renewal && !this.#renewal.ended) {
        const sample = peer_session.read(await this.#renewal.pc.getStats());
        if (sample.video?.framesDecoded > 0 && this.#renewal) {
          this.#renewal.first_frame_at ??= performance.now();
          this.#switch();
        }
      }
      if (current && !current.ended && current === this.#current) this.#measure(current, await current.pc.getStats());
    } catch (error) {
      console.warn('video: stats failed', error);
    }
    if (!this.active) return;
    this.#timer = setTimeout(() => this.#tick(), this.#state === 'live' ? stats_interval_ms : first_frame_poll_ms);
  }

  #measure(session, report) {
    const { pair, local, remote, video } = peer_session.read(report);
    const now = performance.now();
    const bytes = video?.bytesReceived ?? 0;
    let bitrate = null;
    if (session.previous && now > session.previous.at) bitrate = ((bytes - session.previous.bytes) * 8) / ((now - session.previous.at) / 1000);
    session.previous = { at: now, bytes };
    const frames = video?.framesDecoded ?? 0;
    if (frames > 0 && session.first_frame_at === null) {
      session.first_frame_at = now;
      this.#set_state('live', 'Live');
      this.#show(session);
      const renew_at = session.renew_at();
      if (renew_at !== null && !this.#renewing) this.#schedule_renewal(renew_at - now);
    }
    const type = connection_type(local, remote);
    const expires_at = Number(session.credentials.expires_at);
    this.dispatchEvent(new CustomEvent('stats', { detail: {
      session_id: session.session_id,
      connection_type: type,
      path: type === null ? null : type === 'relay' ? 'relayed through TURN' : 'direct',
      local_type: local?.candidateType ?? null,
      remote_type: remote?.candidateType ?? null,
      bitrate_bps: bitrate,
      fps: video?.framesPerSecond ?? null,
      frames_decoded: frames,
      width: video?.frameWidth ?? null,
      height: video?.frameHeight ?? null,
      rtt_ms: pair?.currentRoundTripTime !== undefined ? pair.currentRoundTripTime * 1000 : null,
      renewals: this.#renewals,
      renewing: this.#renewing,
      credentials_expire_at: expires_at > 0 ? expires_at : null,
      renew_at: this.#renewing ? null : this.#renew_due, // ms since the epoch; null while one is being built
      time_to_first_frame_ms: session.first_frame_at !== null && session.replaces === null
        ? session.first_frame_at - this.#started_at : null,
    } }));
  }
}
