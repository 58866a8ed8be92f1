import type { Config } from '../config.js';
import type { Queryable } from '../db/index.js';
import { isAppError } from '../errors.js';
import type { Embedder } from '../memory/embedder.js';
import { embeddingSettingsOf, readEmbeddingSettings } from '../memory/embedding-settings.js';
import { selectEmbedder } from '../memory/select-embedder.js';
import { createCapabilityStore } from './model-capability-repo.js';
import type { ModelProvider } from './provider.js';
import { selectProvider } from './select-provider.js';

/** One thing `livingworld doctor` looked at: what it found and, when it matters, what to change. */
export interface ModelFinding {
  check: string;
  status: 'ok' | 'warn' | 'fail';
  found: string;
  fix?: string;
}

/** A scene prompt needs about this much besides the context: system prompt, format and the answer. */
const smallestWorkableWindow = 3072;

/**
 * Checks the configured model and embedder the way a turn would use them: reachable, model
 * present, context window, JSON schema support, streaming, reasoning, embedding dimension.
 * 'fail' means a turn would fail.
 */
export async function checkModelSetup(config: Config, db: Queryable): Promise<ModelFinding[]> {
  const findings: ModelFinding[] = [];
  let provider: ModelProvider | undefined;
  try {
    const selection = await selectProvider(config, { capabilityStore: createCapabilityStore(db) });
    provider = selection.provider;
    findings.push({ check: 'model', status: selection.notice ? 'warn' : 'ok', found: selection.description, ...(selection.notice ? { fix: selection.notice } : {}) });
  } catch (error) {
    findings.push({ check: 'model', status: 'fail', found: isAppError(error) ? error.message : String(error), fix: 'Start the model server or correct LLM_PROVIDER, OLLAMA_HOST/OLLAMA_MODEL or OPENAI_BASE_URL/OPENAI_MODEL.' });
  }
  if (provider && !provider.offline) findings.push(...(await checkGeneration(provider)));
  findings.push(...(await checkEmbedder(config, db)));
  return findings;
}

async function checkGeneration(provider: ModelProvider): Promise<ModelFinding[]> {
  const findings: ModelFinding[] = [];
  if (provider.contextWindow) {
    const window = await provider.contextWindow();
    const status = window.tokens < smallestWorkableWindow ? 'fail' : window.source === 'default' ? 'warn' : 'ok';
    findings.push({
      check: 'context window',
      status,
      found: `${window.tokens} tokens (${window.source})`,
      ...(status === 'fail'
        ? { fix: `A scene needs at least ${smallestWorkableWindow} tokens: use a model with a larger window or raise LIVINGWORLD_CONTEXT_TOKENS.` }
        : status === 'warn'
          ? { fix: 'The server publishes no window; set LIVINGWORLD_CONTEXT_TOKENS to the window the model runs with.' }
          : {}),
    });
  }
  let deltas = 0;
  let thinking = false;
  try {
    const completion = await provider.complete({
      messages: [
        { role: 'system', content: 'You answer with JSON only.' },
        { role: 'user', content: 'Answer with {"ok": true}.' },
      ],
      jsonSchema: { name: 'doctor', schema: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] } },
      maxTokens: 256,
      purpose: 'doctor',
      onDelta: (delta) => {
        deltas++;
        if (delta.thinking) thinking = true;
      },
    });
    const format = completion.sent?.structuredOutput ?? 'json_schema';
    findings.push({
      check: 'JSON schema',
      status: format === 'json_schema' ? 'ok' : 'warn',
      found: format === 'json_schema' ? 'accepted' : `refused; falling back to ${format === 'json_object' ? 'JSON mode' : 'the format described in the prompt'} (remembered)`,
      ...(format === 'json_schema' ? {} : { fix: 'Scenes still work; a server with structured output (recent llama.cpp, vLLM, Ollama) parses more reliably.' }),
    });
    findings.push({ check: 'streaming', status: deltas > 0 ? 'ok' : 'warn', found: deltas > 0 ? `${deltas} pieces` : 'the answer came in one piece', ...(deltas > 0 ? {} : { fix: 'Prose will appear all at once rather than as it is written.' }) });
    findings.push({
      check: 'reasoning',
      status: 'ok',
      found: thinking || completion.thinking ? 'the model thinks before it answers; thinking is kept out of scenes' : 'no thinking seen',
      ...(thinking ? { fix: 'LIVINGWORLD_THINK=off makes turns faster on models that can skip it.' } : {}),
    });
    if (completion.finishReason === 'length') findings.push({ check: 'answer', status: 'warn', found: 'cut off at 256 tokens', fix: 'The model may spend its allowance thinking; try LIVINGWORLD_THINK=off.' });
  } catch (error) {
    findings.push({ check: 'generation', status: 'fail', found: isAppError(error) ? error.message : String(error), fix: 'A turn would fail the same way; fix the server or the model named above.' });
  }
  return findings;
}

async function checkEmbedder(config: Config, db: Queryable): Promise<ModelFinding[]> {
  let embedder: Embedder;
  try {
    embedder = await selectEmbedder(config);
    const [vector] = await embedder.embed(['LivingWorld doctor']);
    const stored = await readEmbeddingSettings(db);
    const current = embeddingSettingsOf(embedder);
    const found = `${current.provider}/${current.model}, ${vector?.length ?? 0} dimensions`;
    if (stored && (stored.provider !== current.provider || stored.model !== current.model || stored.dimension !== current.dimension)) {
      return [{ check: 'embedder', status: 'fail', found: `${found}; the database holds ${stored.provider}/${stored.model} (${stored.dimension} dimensions)`, fix: 'Set EMBEDDINGS_PROVIDER/EMBEDDINGS_MODEL back, or re-embed the stored texts with the new embedder.' }];
    }
    return [{ check: 'embedder', status: 'ok', found }];
  } catch (error) {
    return [{ check: 'embedder', status: 'fail', found: isAppError(error) ? error.message : String(error), fix: 'Check EMBEDDINGS_PROVIDER and EMBEDDINGS_MODEL, or use EMBEDDINGS_PROVIDER=offline.' }];
  }
}
