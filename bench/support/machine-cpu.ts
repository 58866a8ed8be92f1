import os from 'node:os';

/**
 * Busy share of all cores between start() and the returned stop(), in percent: on this
 * 2-core machine it tells whether a figure is bounded by CPU (client, servers and PostgreSQL
 * all share the same cores).
 */
export function watchMachineCpu(): () => number {
  const totals = () => os.cpus().reduce(
    (sum, cpu) => {
      const t = cpu.times;
      sum.idle += t.idle;
      sum.all += t.user + t.nice + t.sys + t.idle + t.irq;
      return sum;
    },
    { idle: 0, all: 0 },
  );
  const before = totals();
  return () => {
    const after = totals();
    const all = after.all - before.all;
    return all > 0 ? Math.round((1 - (after.idle - before.idle) / all) * 100) : NaN;
  };
}
