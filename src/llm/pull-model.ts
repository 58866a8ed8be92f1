import { AppError } from '../errors.js';
import { describeOllamaFailure, parseJsonBody, postToOllama, readNdjson, type OllamaEndpoint } from './providers/ollama.js';
import { AttemptDeadline, attemptError, badOutput, oneLine } from './with-retry.js';

/** What Ollama reports while pulling: a phase ("pulling manifest", "verifying sha256 digest", …) and bytes. */
export interface PullProgress {
  status: string;
  completed?: number;
  total?: number;
}

const defaultListTimeoutMs = 5_000;
/** A pull may sit on one layer for a while, but not this long without a progress line. */
const pullIdleTimeoutMs = 300_000;
const pullTimeoutHint = 'the download stalled; try again';

function ollamaEndpoint(host: string, model: string): OllamaEndpoint {
  return { serverLabel: 'Ollama', provider: 'ollama', host: host.replace(/\/+$/, ''), model, modelVariable: 'OLLAMA_MODEL' };
}

/** Names of the models installed in Ollama (GET /api/tags), in the order it lists them. */
export async function listOllamaModels(host: string, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<string[]> {
  const endpoint = { ...ollamaEndpoint(host, ''), timeoutHint: 'check that OLLAMA_HOST points at a running Ollama' };
  const deadline = new AttemptDeadline(options.timeoutMs ?? defaultListTimeoutMs, options.signal);
  try {
    const response = await fetch(`${endpoint.host}/api/tags`, { headers: { accept: 'application/json' }, signal: deadline.signal });
    if (!response.ok) {
      throw new AppError('llm_unavailable', `Ollama at ${endpoint.host} failed to list its models (HTTP ${response.status}).`, {
        details: { host: endpoint.host, status: response.status, retryable: response.status >= 500 },
      });
    }
    const body = parseJsonBody<{ models?: unknown }>(await response.text(), endpoint);
    if (!Array.isArray(body.models)) throw badOutput(endpoint, 'listed its models without a "models" array');
    return body.models
      .map((entry: unknown) => (entry as { name?: unknown; model?: unknown } | null)?.name ?? (entry as { model?: unknown } | null)?.model)
      .filter((name): name is string => typeof name === 'string' && name !== '');
  } catch (error) {
    throw attemptError(error, deadline, endpoint, (e) => describeOllamaFailure(e, endpoint));
  } finally {
    deadline.dispose();
  }
}

/** Downloads a model into Ollama (POST /api/pull), reporting each progress line; resolves when Ollama says "success". */
export async function pullOllamaModel(
  host: string,
  model: string,
  onProgress: (progress: PullProgress) => void,
  signal?: AbortSignal,
): Promise<void> {
  const endpoint = { ...ollamaEndpoint(host, model), timeoutHint: pullTimeoutHint };
  const deadline = new AttemptDeadline(pullIdleTimeoutMs, signal);
  try {
    // `name` is what Ollama before 0.5 reads; newer versions read `model`.
    const response = await postToOllama(endpoint, '/api/pull', { model, name: model, stream: true }, deadline.signal);
    for await (const line of readNdjson<PullLine>(response, endpoint, () => deadline.touch())) {
      if (line.error !== undefined) {
        throw new AppError('llm_unavailable', `Ollama at ${endpoint.host} could not pull "${model}": ${oneLine(String(line.error))}.`, {
          details: { host: endpoint.host, model, retryable: false },
        });
      }
      if (typeof line.status !== 'string') continue;
      onProgress({
        status: line.status,
        ...(typeof line.completed === 'number' ? { completed: line.completed } : {}),
        ...(typeof line.total === 'number' ? { total: line.total } : {}),
      });
      if (line.status === 'success') return;
    }
    throw new AppError('llm_unavailable', `Ollama at ${endpoint.host} stopped pulling "${model}" before it finished; try again.`, {
      details: { host: endpoint.host, model, retryable: true },
    });
  } catch (error) {
    throw attemptError(error, deadline, endpoint, (e) => describeOllamaFailure(e, endpoint));
  } finally {
    deadline.dispose();
  }
}

interface PullLine {
  status?: unknown;
  completed?: unknown;
  total?: unknown;
  error?: unknown;
}
