// The JSON API, called with the session cookie; writes carry the CSRF header.

export class ApiError extends Error {
  constructor(status, code, message, detail) {
    super(message);
    this.status = status;
    this.code = code;
    this.detail = detail;
  }
}

export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)qh_csrf=([^;]*)/);
  return match ? decodeURIComponent(match[1]) : '';
}

/** Back to the login page, to come back here; ``why`` is the API's error code. */
export function toLogin(why) {
  const next = encodeURIComponent(location.pathname + location.search);
  location.assign(`/login?next=${next}${why ? `&why=${encodeURIComponent(why)}` : ''}`);
}

/** Call the API; returns the parsed JSON (or {data, text} with raw). */
export async function api(path, {method = 'GET', body, raw = false} = {}) {
  const headers = {Accept: 'application/json'};
  if (method !== 'GET') headers['X-CSRF-Token'] = csrfToken();
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401 && location.pathname !== '/login') {
    // An expired sign-in ends the console session: say so on the login page.
    const error = await response.json().then((b) => b.error || {}, () => ({}));
    toLogin(error.code);
    throw new ApiError(401, error.code || 'UNAUTHENTICATED', 'please log in');
  }
  const text = response.status === 204 ? '' : await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = (data && data.error) || {};
    throw new ApiError(response.status, error.code || `HTTP_${response.status}`,
      error.message || response.statusText, error.detail);
  }
  return raw ? {data, text} : data;
}

/** A query string of the non-empty parameters. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== '' && value !== null && value !== undefined) search.set(key, value);
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}
