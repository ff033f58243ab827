// The page's one way to the API: the signed-in token (kept in sessionStorage,
// so it ends with the tab) sent as a Bearer token, and every answer turned
// into data or an ApiError that says what the server said.

const TOKEN_KEY = 'wangge.token';

/** The token of this tab, or '' when none is signed in. */
export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

export function setToken(t) {
  if (t) sessionStorage.setItem(TOKEN_KEY, t);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** The Authorization header for a same-origin request, if signed in. */
export function authHeaders() {
  const t = token();
  return t ? { Authorization: `Bearer ${t}` } : {};
}

/** An answer other than 2xx: status and the problem's detail. */
export class ApiError extends Error {
  constructor(status, detail, body) {
    super(detail);
    this.status = status;
    this.body = body;
  }
  /** The endpoint does not exist on this server (an older wangge). */
  get missing() {
    return this.status === 404 || this.status === 405;
  }
}

async function readBody(res) {
  const type = res.headers.get('content-type') || '';
  if (res.status === 204) return null;
  if (type.includes('json')) return res.json();
  if (type.startsWith('text/')) return res.text();
  return res.arrayBuffer();
}

/**
 * Calls the API at `path` (same origin). `opts.json` is sent as a JSON body,
 * `opts.body` as is (with `opts.type`). Resolves with the parsed body;
 * rejects with an ApiError for any status outside 2xx.
 */
export async function api(path, opts = {}) {
  const headers = { Accept: 'application/json', ...authHeaders(), ...(opts.headers || {}) };
  let body = opts.body;
  if (opts.json !== undefined) {
    body = JSON.stringify(opts.json);
    headers['Content-Type'] = 'application/json';
  } else if (opts.type) {
    headers['Content-Type'] = opts.type;
  }
  const res = await fetch(path, { method: opts.method || 'GET', headers, body, cache: 'no-cache' });
  const data = await readBody(res).catch(() => null);
  if (!res.ok) {
    const detail = (data && (data.detail || data.title)) || `HTTP ${res.status}`;
    throw new ApiError(res.status, detail, data);
  }
  if (opts.withHeaders) return { data, headers: res.headers, status: res.status };
  return data;
}

/**
 * A layer's whole FeatureCollection, or null when the caller may not read it
 * or it is absent; `query` (e.g. a `crs=…`) is added to the request.
 */
export async function layerData(dataset, layer, query = '') {
  try {
    return await api(`/api/v1/datasets/${enc(dataset)}/layers/${enc(layer)}${query ? `?${query}` : ''}`);
  } catch (e) {
    if (e instanceof ApiError && (e.status === 403 || e.status === 404)) return null;
    throw e;
  }
}

/** Downloads a layer as a GeoJSON file (fetched with the token, saved from memory). */
export async function downloadLayer(dataset, layer) {
  const res = await fetch(`/api/v1/datasets/${enc(dataset)}/layers/${enc(layer)}`, {
    headers: { Accept: 'application/geo+json', ...authHeaders() },
  });
  if (!res.ok) throw new ApiError(res.status, `HTTP ${res.status}`);
  const blob = await res.blob();
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = `${dataset}.${layer}.geojson`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

export const enc = encodeURIComponent;
