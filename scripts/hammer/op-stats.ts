/** Per operation: how many, how they ended (status:code or transport), and how long they took. */
export class OpStats {
  readonly outcomes = new Map<string, Map<string, number>>();
  readonly latenciesMs = new Map<string, number[]>();
  total = 0;

  record(op: string, outcome: string, elapsedMs: number): void {
    this.total++;
    const byOutcome = this.outcomes.get(op) ?? new Map<string, number>();
    byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + 1);
    this.outcomes.set(op, byOutcome);
    const latencies = this.latenciesMs.get(op) ?? [];
    latencies.push(elapsedMs);
    this.latenciesMs.set(op, latencies);
  }

  count(predicate: (op: string, outcome: string) => boolean): number {
    let sum = 0;
    for (const [op, byOutcome] of this.outcomes) for (const [outcome, n] of byOutcome) if (predicate(op, outcome)) sum += n;
    return sum;
  }

  lines(): string[] {
    return [...this.outcomes.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([op, byOutcome]) => {
        const latencies = [...(this.latenciesMs.get(op) ?? [])].sort((a, b) => a - b);
        const p = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
        const outcomes = [...byOutcome.entries()].sort(([, a], [, b]) => b - a).map(([o, n]) => `${o}×${n}`).join(' ');
        return `${op.padEnd(16)} n=${String(latencies.length).padEnd(5)} p50=${p(0.5)}ms p99=${p(0.99)}ms  ${outcomes}`;
      });
  }
}
