// The HTTP API of the relay this page came from (docs/api.md): the signed-in session, its
// tokens, silent refresh, and errors as api_error with the contract's code.
//
// The access token lives in memory only (a script injected into another page cannot read it
// from storage); the refresh token is kept in localStorage so a reload or a new tab stays signed
// in (docs/console.md, "Tokens"). Refreshes are serialized across tabs with a Web Lock and always
// use the newest stored refresh token, so two tabs never present the same token twice — the
// relay would take that for theft and end the login.

import { describe_error } from './errors.js';

const refresh_key = 'relay.refresh_token';
const email_key = 'relay.email';

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
    throw new api_error(response.status, e.code ?? `HTTP_${response.status}`, e.message ?? response.statusText,
                        response.headers.get('Retry-After'));
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

  /** Signs in again from the stored refresh token; false when there is none or it no longer works. */
  async restore() {
    if (!this.remembered) return false;
    try {
      await this.refresh();
      this.dispatchEvent(new CustomEvent('change', { detail: {} }));
      return true;
    } catch (error) {
      if (error.code === 'NETWORK') throw error;
      return false;
    }
  }

  async logout() {
    const token = localStorage.getItem(refresh_key);
    this.#forget();
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
    this.#signed_out('Your account has been deleted, with the robots it owned.');
  }

  /** A new token pair now (one at a time, across tabs). Fails with api_error; a 401 signs out. */
  refresh() {
    this.#refreshing ??= this.#locked(async () => {
      const token = localStorage.getItem(refresh_key);
      if (!token) throw new api_error(401, 'UNAUTHORIZED', 'not signed in');
      try {
        this.#take(await send('POST', '/api/auth/refresh', { refresh_token: token }));
      } catch (error) {
        if (error.status === 401) this.#signed_out('Your sign-in has ended. Please sign in again.');
        throw error;
      }
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
    this.#timer = setTimeout(() => this.refresh().catch(() => {}), delay);
    this.dispatchEvent(new CustomEvent('token', { detail: { access_token: pair.access_token } }));
  }

  #forget() {
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
    return work();
  }
}
