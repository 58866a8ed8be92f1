import type { ContextWindow } from './provider.js';

/**
 * Reading a model's context window from the servers that publish it. Every probe is best
 * effort with a short timeout: a server that publishes nothing gets the configured or the
 * default window, never a failed turn.
 */

/** Used when a server publishes no window and LIVINGWORLD_CONTEXT_TOKENS is unset (README, "Models"). */
export const defaultContextTokens = 4096;
const probeTimeoutMs = 3_000;

export interface OllamaModelFacts {
  contextLength?: number;
  /** The Modelfile's num_ctx, if it sets one. */
  modelfileNumCtx?: number;
  capabilities: string[];
}

/** Reads POST /api/show: model_info["<arch>.context_length"], the Modelfile's parameters, capabilities. */
export async function showOllamaModel(host: string, model: string, signal?: AbortSignal): Promise<OllamaModelFacts | undefined> {
  const body = await fetchJson(`${host}/api/show`, { method: 'POST', body: JSON.stringify({ model }), headers: { 'content-type': 'application/json' } }, signal);
  if (!isRecord(body)) return undefined;
  const facts: OllamaModelFacts = { capabilities: Array.isArray(body['capabilities']) ? body['capabilities'].filter((c): c is string => typeof c === 'string') : [] };
  const info = isRecord(body['model_info']) ? body['model_info'] : {};
  const architecture = info['general.architecture'];
  const length = (typeof architecture === 'string' ? info[`${architecture}.context_length`] : undefined) ??
    Object.entries(info).find(([key]) => key.endsWith('.context_length'))?.[1];
  if (isPositiveInteger(length)) facts.contextLength = length;
  const numCtx = typeof body['parameters'] === 'string' ? /^\s*num_ctx\s+(\d+)\s*$/m.exec(body['parameters'])?.[1] : undefined;
  if (numCtx !== undefined && Number(numCtx) > 0) facts.modelfileNumCtx = Number(numCtx);
  return facts;
}

export function ollamaContextWindow(facts: OllamaModelFacts | undefined, capTokens: number | undefined): ContextWindow {
  if (facts?.contextLength) return capped({ tokens: facts.contextLength, source: 'ollama /api/show context_length' }, capTokens);
  if (facts?.modelfileNumCtx) return capped({ tokens: facts.modelfileNumCtx, source: 'ollama Modelfile num_ctx' }, capTokens);
  return fallbackWindow(capTokens);
}

/**
 * OpenAI-compatible servers publish the window in different places: llama.cpp at GET /props,
 * vLLM as max_model_len in GET /v1/models (OpenRouter as context_length), LM Studio at
 * GET /api/v0/models/{model}. The first that answers wins.
 */
export async function probeOpenAIContextWindow(
  baseUrl: string,
  model: string,
  options: { apiKey?: string | undefined; capTokens?: number | undefined; signal?: AbortSignal | undefined },
): Promise<ContextWindow> {
  const root = baseUrl.replace(/\/v1\/?$/, '');
  const init: RequestInit = options.apiKey ? { headers: { authorization: `Bearer ${options.apiKey}` } } : {};
  const props = await fetchJson(`${root}/props`, init, options.signal);
  if (isRecord(props)) {
    const settings = isRecord(props['default_generation_settings']) ? props['default_generation_settings'] : {};
    const nCtx = settings['n_ctx'] ?? props['n_ctx'];
    if (isPositiveInteger(nCtx)) return capped({ tokens: nCtx, source: 'llama.cpp /props n_ctx' }, options.capTokens);
  }
  const models = await fetchJson(`${baseUrl}/models`, init, options.signal);
  const listed = isRecord(models) && Array.isArray(models['data']) ? models['data'].find((entry) => isRecord(entry) && entry['id'] === model) : undefined;
  if (isRecord(listed)) {
    for (const key of ['max_model_len', 'context_length', 'max_context_length', 'context_window']) {
      const value = listed[key];
      if (isPositiveInteger(value)) return capped({ tokens: value, source: `/v1/models ${key}` }, options.capTokens);
    }
  }
  const lmStudio = await fetchJson(`${root}/api/v0/models/${encodeURIComponent(model)}`, init, options.signal);
  if (isRecord(lmStudio)) {
    const value = lmStudio['loaded_context_length'] ?? lmStudio['max_context_length'];
    if (isPositiveInteger(value)) return capped({ tokens: value, source: 'LM Studio /api/v0/models' }, options.capTokens);
  }
  return fallbackWindow(options.capTokens);
}

function fallbackWindow(capTokens: number | undefined): ContextWindow {
  return capTokens ? { tokens: capTokens, source: 'LIVINGWORLD_CONTEXT_TOKENS' } : { tokens: defaultContextTokens, source: 'default' };
}

/** LIVINGWORLD_CONTEXT_TOKENS caps the window for machines short of memory. */
function capped(window: ContextWindow, capTokens: number | undefined): ContextWindow {
  return capTokens && capTokens < window.tokens ? { tokens: capTokens, source: `${window.source}, capped by LIVINGWORLD_CONTEXT_TOKENS` } : window;
}

async function fetchJson(url: string, init: RequestInit, signal: AbortSignal | undefined): Promise<unknown> {
  const timeout = AbortSignal.timeout(probeTimeoutMs);
  try {
    const response = await fetch(url, { ...init, signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
    if (!response.ok) {
      await response.body?.cancel();
      return undefined;
    }
    return (await response.json()) as unknown;
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0;
}
