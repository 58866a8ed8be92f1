import type { ModelProvider } from '../../src/llm/provider.js';
import type { Embedder } from '../../src/memory/embedder.js';

/** Accumulated milliseconds of a wrapped part (model or embedder) since the last reset. */
export interface Stopwatch {
  ms: number;
  calls: number;
}

/** The embedder, with the time spent in embed() added to `watch`. */
export function timeEmbedder(inner: Embedder, watch: Stopwatch): Embedder {
  return {
    name: inner.name,
    model: inner.model,
    dimension: inner.dimension,
    async embed(texts, signal) {
      const started = performance.now();
      try {
        return await inner.embed(texts, signal);
      } finally {
        watch.ms += performance.now() - started;
        watch.calls++;
      }
    },
  };
}

/** The provider, with the time spent in complete()/stream() added to `watch`. */
export function timeProvider(inner: ModelProvider, watch: Stopwatch): ModelProvider {
  return {
    name: inner.name,
    model: inner.model,
    offline: inner.offline,
    async complete(request, signal) {
      const started = performance.now();
      try {
        return await inner.complete(request, signal);
      } finally {
        watch.ms += performance.now() - started;
        watch.calls++;
      }
    },
    async *stream(request, signal) {
      let started = performance.now();
      watch.calls++;
      for await (const chunk of inner.stream(request, signal)) {
        watch.ms += performance.now() - started;
        yield chunk;
        started = performance.now();
      }
      watch.ms += performance.now() - started;
    },
  };
}
