import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

export const resultsDir = path.resolve('bench/results');

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export interface Distribution {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  mean: number;
}

/** Summary of samples in milliseconds, rounded for reading. */
export function summarise(samplesMs: number[]): Distribution {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    n: sorted.length,
    p50: round(percentile(sorted, 50)),
    p95: round(percentile(sorted, 95)),
    p99: round(percentile(sorted, 99)),
    mean: round(sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length)),
  };
}

export async function timeEach(count: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await fn(i);
    samples.push(performance.now() - start);
  }
  return samples;
}

export function machine(): Record<string, unknown> {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    /** 1, 5 and 15-minute load averages when the result was written: other work on the shared machine shows here. */
    loadAverage: os.loadavg().map((value) => Math.round(value * 10) / 10),
    date: new Date().toISOString(),
  };
}

export function writeResult(name: string, result: Record<string, unknown>): void {
  fs.mkdirSync(resultsDir, { recursive: true });
  fs.writeFileSync(path.join(resultsDir, `${name}.json`), `${JSON.stringify({ machine: machine(), ...result }, null, 2)}\n`);
}

/** A fresh database on the benchmark server (BENCH_DATABASE_URL or the local one). */
export async function createBenchDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const admin = process.env['BENCH_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `lw_bench_${process.pid}_${Date.now().toString(36)}`;
  const client = new pg.Client(admin);
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client(admin);
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
