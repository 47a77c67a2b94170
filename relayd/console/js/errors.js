// Clear words for every error code the relay answers with (contract sections 2 and 7,
// docs/api.md, docs/protocol.md), the console's own (NETWORK, CLOSED), and HTTP_<status> for an
// answer that was not the relay's (a proxy's error page). An unknown code falls back to the
// relay's own message.

const words = {
  BAD_JSON: 'The request was not valid JSON.',
  BAD_MESSAGE: 'The request was not understood.',
  UNKNOWN_TYPE: 'The relay does not know that kind of message.',
  UNAUTHORIZED: 'You are not signed in, or your sign-in has ended. Please sign in again.',
  TOKEN_EXPIRED: 'Your sign-in has expired. Please sign in again.',
  INVALID_CREDENTIALS: 'That email and password do not match an account.',
  INVALID_EMAIL: 'That does not look like an email address.',
  WEAK_PASSWORD: 'That password is too weak: use a longer one.',
  EMAIL_TAKEN: 'An account with that email already exists. Sign in instead, or reset its password.',
  REGISTRATION_CLOSED: 'This relay does not take new accounts. Ask its operator for one.',
  INVALID_TOKEN: 'That reset link is invalid, already used or expired. Ask for a new one.',
  FORBIDDEN: 'Your role on this robot does not allow that. Ask its owner.',
  NOT_FOUND: 'Not found.',
  DEVICE_NOT_FOUND: 'No such robot, or you have no access to it.',
  DEVICE_EXISTS: 'A robot with that id already exists. Pick another id, or leave it empty.',
  USER_NOT_FOUND: 'No account has that email: the person must register first.',
  DEVICE_OFFLINE: 'The robot is offline. Start it, then try again.',
  DEVICE_TIMEOUT: 'The robot did not answer in time.',
  DEVICE_BAD_RESPONSE: 'The robot answered with something that is not a valid HTTP response.',
  TURN_UNAVAILABLE: 'The relay could not get video relay (TURN) credentials. Try again shortly.',
  SESSION_NOT_FOUND: 'That video session has already ended.',
  SESSION_LIMIT: 'The robot is already streaming to as many viewers as it can. Try again later.',
  RATE_LIMITED: 'Too many requests: wait a moment, then try again.',
  MESSAGE_TOO_LARGE: 'That is too large to send.',
  BODY_TOO_LARGE: 'That body is larger than the relay accepts.',
  PATH_NOT_ALLOWED: 'The relay does not tunnel that path to robots.',
  METHOD_NOT_ALLOWED: 'That method is not allowed here.',
  UNAVAILABLE: 'The relay is busy or a service behind it is down. Try again shortly.',
  NODE_UNREACHABLE: 'The relay node holding the robot cannot be reached. Try again shortly.',
  INTERNAL: 'The relay failed to do that. Try again; if it persists, tell its operator.',
  NETWORK: 'The relay cannot be reached. Check your connection.',
  CLOSED: 'The console closed its connection to the relay (signed out, or the page is closing).',
};

/** Words for HTTP_<status>: an answer without the relay's JSON, e.g. nginx's 502 or 413 page. */
function http_words(code) {
  const status = Number(/^HTTP_(\d{3})$/.exec(code ?? '')?.[1]);
  if ([502, 503, 504].includes(status)) {
    return 'The relay, or the proxy in front of it, is unavailable. Try again shortly.';
  }
  if (status === 413) return 'That is too large: the proxy in front of the relay refused it.';
  if (status >= 500) return `The relay or the proxy in front of it failed (HTTP ${status}). Try again; if it persists, tell its operator.`;
  if (status >= 400) return `The relay or the proxy in front of it refused that (HTTP ${status}).`;
  return '';
}

/** Words for an error code; `fallback` (the relay's message) when the code is not known. */
export function describe_error(code, fallback) {
  // `||`: over HTTP/2 a proxy's answer has no status text, and empty words would hide the notice.
  return words[code] || http_words(code) || fallback || `The relay answered ${code}.`;
}
