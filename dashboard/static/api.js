// The JSON API of `alertstore serve`, on the page's own origin, with the
// reader token (if any) sent as a bearer token on every call.

const tokenKey = 'alertstore.reader-token';

// AuthError: the server answered 401; the page asks for a token.
export class AuthError extends Error {
  constructor(message) {
    super(message || 'the server needs a reader token');
    this.name = 'AuthError';
  }
}

// APIError: any other error answer, with the server's code and message.
export class APIError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = 'APIError';
    this.status = status;
    this.code = code;
  }
}

export function token() {
  return sessionStorage.getItem(tokenKey) || '';
}

export function setToken(t) {
  if (t) {
    sessionStorage.setItem(tokenKey, t);
  } else {
    sessionStorage.removeItem(tokenKey);
  }
}

// headers returns the request headers, the token included.
export function headers(accept) {
  const h = new Headers({ Accept: accept || 'application/json' });
  const t = token();
  if (t) {
    h.set('Authorization', 'Bearer ' + t);
  }
  return h;
}

// url joins a path of the API and query parameters.
export function url(path, params) {
  const q = params ? params.toString() : '';
  return q ? path + '?' + q : path;
}

// errorOf turns an error answer into an AuthError (401: no token or an
// unknown one; 403 forbidden: a token that may not read, such as a
// writer's) or an APIError.
export async function errorOf(resp) {
  let code = 'http_' + resp.status;
  let message = resp.statusText || ('HTTP ' + resp.status);
  try {
    const body = await resp.json();
    if (body && body.error) {
      code = String(body.error.code || code);
      message = String(body.error.message || message);
    }
  } catch {
    // not JSON: keep the status line
  }
  if (resp.status === 401 || (resp.status === 403 && code === 'forbidden')) {
    return new AuthError(message);
  }
  return new APIError(resp.status, code, message);
}

// getJSON fetches path with params and decodes the JSON answer.
export async function getJSON(path, params, signal) {
  const resp = await fetch(url(path, params), {
    headers: headers(),
    signal,
    cache: 'no-store',
    credentials: 'same-origin',
  });
  if (!resp.ok) {
    throw await errorOf(resp);
  }
  return resp.json();
}
