/** Everything the hammer found wrong, by kind, with the first few cases of each kept in full. */
export class Violations {
  readonly counts = new Map<string, number>();
  readonly examples = new Map<string, string[]>();

  constructor(private readonly examplesPerKind = 8) {}

  add(kind: string, detail: string): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
    const examples = this.examples.get(kind) ?? [];
    if (examples.length < this.examplesPerKind) examples.push(detail);
    this.examples.set(kind, examples);
  }

  get total(): number {
    let sum = 0;
    for (const count of this.counts.values()) sum += count;
    return sum;
  }

  lines(): string[] {
    return [...this.counts.entries()].flatMap(([kind, count]) => [
      `${kind}: ${count}`,
      ...(this.examples.get(kind) ?? []).map((example) => `    e.g. ${example}`),
    ]);
  }
}
