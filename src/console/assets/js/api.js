// The admin API client: the token lives in sessionStorage only and goes out as a Bearer header.

const KEY = 'genhook.adminToken';

export function token() {
  return sessionStorage.getItem(KEY);
}

export function setToken(value) {
  if (value) sessionStorage.setItem(KEY, value);
  else sessionStorage.removeItem(KEY);
}

/** An admin call's failure: status, the server's `error` and any `diagnostics`. */
export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

/** Calls `/admin/<path>`; resolves to the parsed JSON body, rejects with ApiError. */
export async function api(path, { method = 'GET', body, query } = {}) {
  let url = `/admin/${path}`;
  if (query) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') params.set(k, v);
    const text = params.toString();
    if (text) url += `?${text}`;
  }
  const headers = { Authorization: `Bearer ${token() || ''}`, Accept: 'application/json' };
  const init = { method, headers, cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url, init);
  let parsed = null;
  const text = await response.text();
  try { parsed = text ? JSON.parse(text) : null; } catch { parsed = { error: text }; }
  if (!response.ok) {
    if (response.status === 401) window.dispatchEvent(new CustomEvent('genhook:unauthorized'));
    throw new ApiError(response.status, parsed);
  }
  return parsed;
}

/** The live event stream (EventSource cannot send headers: the token goes in the query). */
export function stream() {
  return new EventSource(`/admin/stream?token=${encodeURIComponent(token() || '')}`);
}
