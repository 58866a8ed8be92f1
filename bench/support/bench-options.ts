/**
 * Options shared by every benchmark module, read from the environment once.
 * BENCH_QUICK=1 shrinks every loop for a smoke run; the figures are then only indicative.
 */
export const quick = process.env['BENCH_QUICK'] === '1';

/** The full-run value, or the quick one under BENCH_QUICK=1. */
export function sized<T>(full: T, quickValue: T): T {
  return quick ? quickValue : full;
}

/** A numeric override from the environment (e.g. BENCH_TURNS=50), else the default. */
export function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new Error(`${name} must be a number (got ${raw})`);
  return value;
}

export function round(value: number, digits = 2): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** a / b rounded, or null when the baseline is zero or missing. */
export function ratio(a: number, b: number, digits = 2): number | null {
  return Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? round(a / b, digits) : null;
}

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `--runs N` from a module's arguments, else the fallback. */
export function runsArgument(args: string[], fallback: number): number {
  const index = args.indexOf('--runs');
  const runs = index >= 0 ? Number(args[index + 1]) : fallback;
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs takes a whole number ≥ 1');
  return runs;
}
