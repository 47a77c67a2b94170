// The HTTP API of the relay this page came from (docs/api.md): the signed-in session, its
// tokens, silent refresh, and errors as api_error with the contract's code.
//
// The access token lives in memory only (a script injected into another page cannot read it
// from storage); the refresh token is kept in localStorage so a reload or a new tab stays signed
// in (docs/console.md, "Tokens"). Refreshes are serialized across tabs — with a Web Lock, or
// where there is none (plain http other than localhost) with a lease in localStorage — and
// always use the newest stored refresh token, so two tabs never present the same token twice:
// the relay would take that for theft and end the login.

import { describe_error } from './errors.js';

const refresh_key = 'relay.refresh_token';
const email_key = 'relay.email';
const lease_key = 'relay.refresh_lease';
const lease_ms = 5000; // how long a lease lasts unless its holder renews it (a tab that died)

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether a failed refresh is worth trying again: no answer, a busy or failing relay or proxy. */
const transient = (error) => error.status === 0 || error.status === 429 || error.status >= 500;

/** An answer other than 2xx, or no answer at all (`status` 0, code NETWORK). */
export class api_error extends Error {
  constructor(status, code, message, retry_after = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.retry_after = retry_after;
  }
}

/**
 * Clear words for a failed call: errors.js's words for its code, and for a 429 with Retry-After
 * when to try again ("in 60 seconds, at 14:02:10").
 */
export function error_words(error) {
  let words = describe_error(error?.code, error?.message);
  // "Not understood" alone does not help: the relay's message names the field (docs/api.md).
  if (error?.code === 'BAD_MESSAGE' && error.message) words = `${words.replace(/\.$/, '')}: ${error.message}.`;
  const seconds = Number.parseInt(error?.retry_after ?? '', 10);
  if (error?.status !== 429 || !Number.isFinite(seconds)) return words;
  const at = new Date(Date.now() + seconds * 1000).toLocaleTimeString();
  const span = seconds >= 120 ? `${Math.ceil(seconds / 60)} minutes` : `${seconds} second${seconds === 1 ? '' : 's'}`;
  return `${words} You can try again in ${span} (at ${at}).`;
}

async function send(method, path, body, access_token) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (access_token) headers.Authorization = `Bearer ${access_token}`;
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body),
                                   cache: 'no-store', credentials: 'omit' });
  } catch (error) {
    throw new api_error(0, 'NETWORK', String(error?.message ?? error));
  }
  const text = await response.text();
  let value = null;
  if (text) {
    try { value = JSON.parse(text); } catch { value = text; }
  }
  if (!response.ok) {
    const e = value?.error ?? {};
    // Not the relay's JSON (a proxy's 502 page, nginx's 413): HTTP_<status>, and errors.js's
    // words as the message (statusText is '' over HTTP/2).
    const code = e.code || `HTTP_${response.status}`;
    throw new api_error(response.status, code, e.message || describe_error(code), response.headers.get('Retry-After'));
  }
  return value;
}

/**
 * The signed-in user. Events: 'change' (signed in or out; detail.reason when a login ended by
 * itself) and 'token' (detail.access_token: a fresh access token, for the open socket).
 */
export class session extends EventTarget {
  #access_token = null;
  #expires_at = 0; // ms since epoch, by this browser's clock
  #timer = null;
  #refreshing = null;
  #generation = 0; // +1 at every sign-out: a refresh answer from before it is not taken

  get signed_in() { return this.#access_token !== null; }
  get access_token() { return this.#access_token; }
  /** When the access token expires, in ms since the epoch. */
  get expires_at() { return this.#expires_at; }
  get email() { return localStorage.getItem(email_key) ?? ''; }
  /** The signed-in user's id (the access token's `sub`), or null. */
  get user_id() {
    try {
      const part = this.#access_token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      return JSON.parse(atob(part)).sub ?? null;
    } catch {
      return null;
    }
  }

  /** Whether a refresh token from an earlier visit is stored (restore() may sign in). */
  get remembered() { return localStorage.getItem(refresh_key) !== null; }

  constructor() {
    super();
    // Another tab signed out: so is this one.
    addEventListener('storage', (e) => {
      if (e.key === refresh_key && e.newValue === null && this.signed_in) this.#signed_out('signed out in another tab');
    });
  }

  async register(email, password) {
    return send('POST', '/api/auth/register', { email, password });
  }

  async login(email, password) {
    const pair = await send('POST', '/api/auth/login', { email, password });
    localStorage.setItem(email_key, email);
    this.#take(pair);
    this.dispatchEvent(new CustomEvent('change', { detail: {} }));
  }

  /**
   * Signs in again from the stored refresh token; false when there is none or it no longer works.
   * Throws when the relay could not say (no answer, 429, 5xx): the refresh token is kept, a busy
   * relay is no sign-out; the error's message is then the words to show.
   */
  async restore() {
    if (!this.remembered) return false;
    try {
      await this.refresh();
      this.dispatchEvent(new CustomEvent('change', { detail: {} }));
      return true;
    } catch (error) {
      if (transient(error)) throw new api_error(error.status, error.code, error_words(error), error.retry_after);
      return false;
    }
  }

  /** Signs out: this login ends at the relay, and the remembered email goes too (a shared computer). */
  async logout() {
    // Read outside the lock on purpose: signing out must not wait for a refresh in flight. If
    // one has rotated this token meanwhile, revoking the older token still ends the login (the
    // relay revokes the family), and its answer is dropped (#generation).
    const token = localStorage.getItem(refresh_key);
    this.#forget();
    localStorage.removeItem(email_key);
    if (token) {
      try { await send('POST', '/api/auth/logout', { refresh_token: token }); } catch { /* gone either way */ }
    }
    this.dispatchEvent(new CustomEvent('change', { detail: { reason: null } }));
  }

  /**
   * Deletes the account (DELETE /api/account, the password again): the relay removes the owned
   * robots and ends every login, so this tab is signed out too. Fails with api_error.
   */
  async delete_account(password) {
    await this.request('DELETE', '/api/account', { password });
    localStorage.removeItem(email_key);
    this.#signed_out('Your account has been deleted, with the robots it owned.');
  }

  /** A new token pair now (one at a time, across tabs). Fails with api_error; a 401 signs out. */
  refresh() {
    const generation = this.#generation;
    this.#refreshing ??= this.#locked(async () => {
      // The newest token: another tab may have rotated it while this one waited for the lock.
      const token = localStorage.getItem(refresh_key);
      if (!token || generation !== this.#generation) throw new api_error(401, 'UNAUTHORIZED', 'not signed in');
      let pair;
      try {
        pair = await send('POST', '/api/auth/refresh', { refresh_token: token });
      } catch (error) {
        if (error.status === 401 && generation === this.#generation) {
          this.#signed_out('Your sign-in has ended. Please sign in again.');
        }
        throw error;
      }
      // Signed out while the answer was on its way: taking it would sign in again.
      if (generation !== this.#generation) throw new api_error(401, 'UNAUTHORIZED', 'signed out meanwhile');
      this.#take(pair);
    }).finally(() => { this.#refreshing = null; });
    return this.#refreshing;
  }

  /**
   * An API call with the access token. A 401 TOKEN_EXPIRED (a laptop that slept through the
   * silent refresh) refreshes once and retries. Resolves to the parsed JSON body (null when empty).
   */
  async request(method, path, body) {
    if (!this.signed_in) throw new api_error(401, 'UNAUTHORIZED', 'not signed in');
    try {
      return await send(method, path, body, this.#access_token);
    } catch (error) {
      if (error.status !== 401 || error.code !== 'TOKEN_EXPIRED') throw error;
      await this.refresh();
      return send(method, path, body, this.#access_token);
    }
  }

  /** A call that needs no sign-in (password reset). */
  static anonymous(method, path, body) {
    return send(method, path, body, null);
  }

  #take(pair) {
    localStorage.setItem(refresh_key, pair.refresh_token);
    this.#access_token = pair.access_token;
    this.#expires_at = Date.now() + pair.expires_in * 1000;
    clearTimeout(this.#timer);
    // Silent refresh at three quarters of the lifetime (at least 5 s from now).
    const delay = Math.max(5, pair.expires_in * 0.75) * 1000;
    this.#timer = setTimeout(() => this.#silent_refresh(0), delay);
    this.dispatchEvent(new CustomEvent('token', { detail: { access_token: pair.access_token } }));
  }

  /**
   * The timer's refresh. A relay that is busy (429, 503) or out of reach is asked again, 2 s
   * doubling to 30 s, while the access token lasts — else the relay would close the socket with
   * TOKEN_EXPIRED; a 401 has signed out (refresh()).
   */
  #silent_refresh(attempt) {
    const generation = this.#generation;
    this.refresh().catch((error) => {
      if (!transient(error) || generation !== this.#generation || !this.signed_in) return;
      const left = this.#expires_at - Date.now();
      if (left <= 0) return; // expired: the socket's 4401 and TOKEN_EXPIRED answers refresh from here
      const seconds = Number.parseInt(error.retry_after ?? '', 10);
      let delay = Math.min(30000, 2000 * 2 ** attempt);
      if (Number.isFinite(seconds)) delay = Math.max(delay, seconds * 1000);
      // The last try just before the expiry, not after it.
      delay = Math.min(delay, Math.max(500, left - 1000));
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => this.#silent_refresh(attempt + 1), delay);
    });
  }

  #forget() {
    this.#generation += 1;
    clearTimeout(this.#timer);
    this.#access_token = null;
    this.#expires_at = 0;
    localStorage.removeItem(refresh_key);
  }

  #signed_out(reason) {
    const was = this.signed_in;
    this.#forget();
    if (was) this.dispatchEvent(new CustomEvent('change', { detail: { reason } }));
  }

  async #locked(work) {
    if (navigator.locks) return navigator.locks.request('relay.refresh', work);
    return leased(work);
  }
}

/**
 * Runs `work` holding the refresh lease: Web Locks' stand-in where the page is no secure context
 * (http://192.168.1.5:8000). The lease is {owner, until} in localStorage: take it when absent or
 * expired, wait a little and read it again — two tabs writing at once both see who won — and
 * renew it while working, so only a tab that died holding it makes the others wait (lease_ms).
 */
async function leased(work) {
  const owner = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  const holder = () => {
    try { return JSON.parse(localStorage.getItem(lease_key)); } catch { return null; }
  };
  const claim = () => localStorage.setItem(lease_key, JSON.stringify({ owner, until: Date.now() + lease_ms }));
  for (;;) {
    const held = holder();
    if (!held || !(held.until > Date.now())) {
      claim();
      await sleep(150); // a tab claiming at the same moment: the last write wins, everywhere
      if (holder()?.owner === owner) break;
    }
    await sleep(100 + Math.random() * 150);
  }
  const renew = setInterval(() => { if (holder()?.owner === owner) claim(); }, lease_ms / 3);
  try {
    return await work();
  } finally {
    clearInterval(renew);
    if (holder()?.owner === owner) localStorage.removeItem(lease_key);
  }
}
