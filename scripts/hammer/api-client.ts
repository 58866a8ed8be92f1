/**
 * One HTTP request to a serve process, always with a timeout, reduced to what the hammer
 * judges: status, JSON body, error code, or the transport failure (connection lost, timeout).
 * Event-stream answers are read to their final `scene` or `error` event.
 */

export interface ApiTarget {
  url: string;
  /** The serve incarnation (see ServeFleet). */
  name: string;
}

export interface ApiResult {
  status: number;
  body: any;
  /** `error.code` of an error body. */
  errorCode: string | undefined;
  /** Set when no HTTP answer arrived. */
  transport: 'timeout' | 'connection' | undefined;
  /** Why the answer is malformed (error without a JSON code, stream without a final event). */
  malformed: string | undefined;
  startedAt: number;
  elapsedMs: number;
  target: ApiTarget;
  headers: Headers | undefined;
}

export interface ApiRequest {
  method: 'GET' | 'POST' | 'PATCH';
  path: string;
  json?: unknown;
  /** Sent as it is, for imports and malformed bodies. */
  rawBody?: string;
  contentType?: string;
  headers?: Record<string, string>;
  eventStream?: boolean;
  timeoutMs: number;
}

export async function callApi(target: ApiTarget, request: ApiRequest): Promise<ApiResult> {
  const startedAt = Date.now();
  const headers: Record<string, string> = { ...request.headers };
  let body: string | undefined;
  if (request.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(request.json);
  } else if (request.rawBody !== undefined) {
    headers['content-type'] = request.contentType ?? 'application/octet-stream';
    body = request.rawBody;
  }
  if (request.eventStream) headers['accept'] = 'text/event-stream';
  const result = (fields: Partial<ApiResult>): ApiResult => ({
    status: 0,
    body: undefined,
    errorCode: undefined,
    transport: undefined,
    malformed: undefined,
    startedAt,
    elapsedMs: Date.now() - startedAt,
    target,
    headers: undefined,
    ...fields,
  });
  try {
    const response = await fetch(`${target.url}${request.path}`, {
      method: request.method,
      headers,
      ...(body === undefined ? {} : { body }),
      signal: AbortSignal.timeout(request.timeoutMs),
    });
    const text = await response.text();
    const contentType = response.headers.get('content-type') ?? '';
    if (contentType.startsWith('text/event-stream')) return result({ ...readEventStream(text), headers: response.headers });
    let parsed: any;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = text;
    }
    const errorCode = typeof parsed?.error?.code === 'string' ? (parsed.error.code as string) : undefined;
    const malformed =
      response.status >= 400 && errorCode === undefined ? `HTTP ${response.status} without a JSON error code: ${String(text).slice(0, 200)}` : undefined;
    return result({ status: response.status, body: parsed, errorCode, malformed, headers: response.headers });
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'TimeoutError' || name === 'AbortError') return result({ transport: 'timeout' });
    // A reset can reach us before the child's exit does; give the fleet a moment to notice a death.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    return result({ transport: 'connection', malformed: undefined, body: String((error as Error).cause ?? error) });
  }
}

/** The final event of a turn stream: `scene` (201) or `error` (its status and code). */
function readEventStream(text: string): Partial<ApiResult> {
  const events = text
    .split('\n\n')
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = block
        .split('\n')
        .filter((line) => line.startsWith('data: '))
        .map((line) => line.slice(6))
        .join('\n');
      return { event, data };
    })
    .filter((e) => e.event !== undefined);
  const last = events.at(-1);
  try {
    if (last?.event === 'scene') return { status: 201, body: JSON.parse(last.data) };
    if (last?.event === 'error') {
      const body = JSON.parse(last.data) as { status?: number; error?: { code?: string } };
      const code = body.error?.code;
      return { status: body.status ?? 0, body, errorCode: code, malformed: code === undefined ? 'stream error event without a code' : undefined };
    }
  } catch {
    return { status: 0, transport: 'connection', malformed: undefined, body: `unparseable final event: ${last?.data.slice(0, 200)}` };
  }
  // A stream cut short: the process died or the connection dropped mid-answer.
  return { status: 0, transport: 'connection', body: `event stream ended after ${events.length} events without a final one` };
}
