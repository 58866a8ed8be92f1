import { callApi } from './api-client.js';
import type { ServeFleet } from './serve-fleet.js';

/**
 * Reads /metrics of every live process now and then and keeps each incarnation's latest
 * figures; a SIGKILLed process keeps what was last read (its final moments are lost, so the
 * sums are lower bounds).
 */

export type MetricFigures = Map<string, number>;

const wanted = /^(livingworld_transaction_retries_total|livingworld_turn_events_total)\{([^}]*)\}\s+([0-9.eE+-]+)$/;

export function parseMetrics(text: string): MetricFigures {
  const figures: MetricFigures = new Map();
  for (const line of text.split('\n')) {
    const match = wanted.exec(line.trim());
    if (match) figures.set(`${match[1]}{${match[2]}}`, Number(match[3]));
  }
  return figures;
}

export class MetricsScraper {
  readonly latest = new Map<string, MetricFigures>();

  constructor(private readonly fleet: ServeFleet) {}

  async scrapeAll(): Promise<void> {
    await Promise.all(
      this.fleet.live().map(async (incarnation) => {
        const result = await callApi(incarnation, { method: 'GET', path: '/metrics', timeoutMs: 5_000 });
        if (result.status === 200 && typeof result.body === 'string') this.latest.set(incarnation.name, parseMetrics(result.body));
      }),
    );
  }

  /** Sums over all incarnations, e.g. `livingworld_turn_events_total{event="joined"}` → n. */
  totals(): MetricFigures {
    const sums: MetricFigures = new Map();
    for (const figures of this.latest.values()) for (const [key, value] of figures) sums.set(key, (sums.get(key) ?? 0) + value);
    return sums;
  }

  sum(metric: string, label?: string): number {
    let total = 0;
    for (const [key, value] of this.totals()) if (key.startsWith(`${metric}{`) && (label === undefined || key.includes(label))) total += value;
    return total;
  }
}
