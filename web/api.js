// Talks to the LivingWorld HTTP API. The token (when the server requires one) lives in
// localStorage; `#token=…` in the address stores it once and is removed from the address.

const tokenKey = 'livingworld.token';

export function takeTokenFromAddress() {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (!match) return;
  localStorage.setItem(tokenKey, decodeURIComponent(match[1]));
  const rest = location.hash.replace(/(?:^#|&)token=[^&]+/, '').replace(/^&/, '');
  history.replaceState(null, '', `${location.pathname}${rest ? `#${rest.replace(/^#/, '')}` : '#/'}`);
}

export function setToken(token) {
  if (token) localStorage.setItem(tokenKey, token);
  else localStorage.removeItem(tokenKey);
}

export function headers(extra = {}) {
  const token = localStorage.getItem(tokenKey);
  return { ...(token ? { authorization: `Bearer ${token}` } : {}), ...extra };
}

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code ?? 'internal';
    this.details = body?.error ?? {};
  }
}

const writeAttempts = 4;

// crypto.randomUUID exists only in secure contexts; plain HTTP on a LAN is supported too.
function newIdempotencyKey() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, '0')).join('');
}
const retryableStatuses = new Set([502, 503, 504]);

/**
 * One API request. Every write carries an Idempotency-Key, and a write whose reply was lost
 * (network error, 502/503/504) is sent again with that same key, so it has one effect.
 */
export async function api(method, path, body, extraHeaders = {}) {
  const write = method !== 'GET' && method !== 'HEAD';
  const keyHeader = write && !Object.keys(extraHeaders).some((name) => name.toLowerCase() === 'idempotency-key') ? { 'idempotency-key': newIdempotencyKey() } : {};
  const init = {
    method,
    headers: headers(body === undefined ? { ...keyHeader, ...extraHeaders } : { 'content-type': 'application/json', ...keyHeader, ...extraHeaders }),
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  };
  for (let attempt = 1; ; attempt++) {
    let response;
    try {
      response = await fetch(path, init);
    } catch (error) {
      if (!write || attempt >= writeAttempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** attempt));
      continue;
    }
    const text = await response.text();
    let parsed = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    if (write && retryableStatuses.has(response.status) && attempt < writeAttempts) {
      const retryAfterMs = Number(response.headers.get('retry-after')) * 1000;
      await new Promise((resolve) => setTimeout(resolve, Number.isFinite(retryAfterMs) && retryAfterMs > 0 ? Math.min(retryAfterMs, 5_000) : 250 * 2 ** attempt));
      continue;
    }
    if (!response.ok) throw new ApiError(response.status, parsed);
    return parsed;
  }
}

/** Reads a text/event-stream response body, calling onEvent(name, data) for each event. */
async function readEvents(response, onEvent, signal) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    if (signal?.aborted) return;
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = 'message';
      let id;
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) name = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
        else if (line.startsWith('id: ')) id = line.slice(4);
      }
      if (data.length > 0) onEvent(name, JSON.parse(data.join('\n')), id);
    }
  }
}

/**
 * A request that writes a scene, streamed: onText gets the prose as it is written; resolves
 * to the final body or rejects with an ApiError (turn_conflict carries the new head).
 */
export async function streamTurn(path, body, { onText, idempotencyKey, signal } = {}) {
  const response = await fetch(path, {
    method: 'POST',
    headers: headers({
      'content-type': 'application/json',
      accept: 'text/event-stream',
      'idempotency-key': idempotencyKey ?? newIdempotencyKey(),
    }),
    body: JSON.stringify(body),
    signal,
  });
  if (!response.ok) {
    const text = await response.text();
    throw new ApiError(response.status, text ? JSON.parse(text) : null);
  }
  let result;
  let failure;
  await readEvents(response, (name, data) => {
    if (name === 'text') onText?.(data.text);
    else if (name === 'scene') result = data;
    else if (name === 'error') failure = new ApiError(data.status ?? 500, data);
  }, signal);
  if (failure) throw failure;
  if (!result) throw new ApiError(502, { error: { code: 'internal', message: 'The stream ended before the scene was complete.' } });
  return result;
}

/**
 * Watches a story's live events until `signal` aborts, reconnecting after failures with
 * Last-Event-ID (the story version last seen), so that the server sends what was missed.
 * A `resync` (the server's catch-up: the current head) reaches `onEvent` as a `head` event.
 */
export async function watchStory(storyId, onEvent, signal) {
  let delayMs = 500;
  let lastEventId;
  const onStreamEvent = (name, data, id) => {
    if (id !== undefined) lastEventId = id;
    onEvent(name === 'resync' ? 'head' : name, data);
  };
  while (!signal.aborted) {
    try {
      const response = await fetch(`/api/stories/${storyId}/events`, {
        headers: headers({ accept: 'text/event-stream', ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }) }),
        signal,
      });
      if (response.ok) {
        delayMs = 500;
        await readEvents(response, onStreamEvent, signal);
      } else if (response.status === 404 || response.status === 401) {
        return;
      }
    } catch {
      // Network error or abort: retry below unless aborted.
    }
    if (signal.aborted) return;
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    delayMs = Math.min(delayMs * 2, 10_000);
  }
}
