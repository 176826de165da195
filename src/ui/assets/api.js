// The REST API as the console calls it: the key from sessionStorage as a bearer token, and every failure as
// an ApiError carrying the server's own code and message (shown as they are, never replaced).

const KEY = 'membank.key';

export const getKey = () => sessionStorage.getItem(KEY);
export const setKey = (key) => (key ? sessionStorage.setItem(KEY, key) : sessionStorage.removeItem(KEY));

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

let unauthorized = () => {};
/** Called with the error of every 401, so that the shell can ask for a key. */
export const onUnauthorized = (handler) => (unauthorized = handler);

export async function call(method, path, body) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const key = getKey();
  if (key) headers.authorization = `Bearer ${key}`;
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (error) {
    throw new ApiError(0, 'NETWORK', `The server cannot be reached (${error.message}).`);
  }
  const text = await response.text();
  let parsed;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const error = parsed?.error;
    const failure = new ApiError(response.status, error?.code ?? `HTTP_${response.status}`, error?.message ?? (text || response.statusText), error?.details);
    if (response.status === 401) unauthorized(failure);
    throw failure;
  }
  return parsed;
}

export const get = (path) => call('GET', path);
export const post = (path, body) => call('POST', path, body);
export const patch = (path, body) => call('PATCH', path, body);
export const del = (path) => call('DELETE', path);

export const nsPath = (ns, ...rest) => `/v1/namespaces/${encodeURIComponent(ns)}${rest.map((part) => `/${encodeURIComponent(part)}`).join('')}`;

/** The same request as a shell command; the key stays out of it (it reads $MEMBANK_API_KEY). */
export function curl(method, path, body) {
  const quote = (text) => `'${text.replaceAll("'", "'\\''")}'`;
  const parts = [`curl -sS -X ${method} ${quote(location.origin + path)}`];
  if (getKey()) parts.push(`-H "Authorization: Bearer $MEMBANK_API_KEY"`);
  if (body !== undefined) parts.push(`-H 'Content-Type: application/json'`, `-d ${quote(JSON.stringify(body))}`);
  return parts.join(' \\\n  ');
}
