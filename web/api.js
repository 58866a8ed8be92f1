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

export async function api(method, path, body, extraHeaders = {}) {
  const response = await fetch(path, {
    method,
    headers: headers(body === undefined ? extraHeaders : { 'content-type': 'application/json', ...extraHeaders }),
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  const parsed = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, parsed);
  return parsed;
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
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) name = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length > 0) onEvent(name, JSON.parse(data.join('\n')));
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
      ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
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

/** Watches a story's live events until `signal` aborts, reconnecting after failures. */
export async function watchStory(storyId, onEvent, signal) {
  let delayMs = 500;
  while (!signal.aborted) {
    try {
      const response = await fetch(`/api/stories/${storyId}/events`, { headers: headers({ accept: 'text/event-stream' }), signal });
      if (response.ok) {
        delayMs = 500;
        await readEvents(response, onEvent, signal);
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
