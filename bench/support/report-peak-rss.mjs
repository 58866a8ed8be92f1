// Preloaded into a benchmarked process: writes its peak RSS (KiB) and the CPU time it used
// (ms, user + system, every thread) as JSON to LW_BENCH_RSS_FILE at exit. A command that runs
// itself again in a second Node (src/cli/compile-for-this-command.ts) preloads this there too:
// the second exits first, and the first then records the larger peak and the sum of the CPU.
import fs from 'node:fs';

const file = process.env['LW_BENCH_RSS_FILE'];
if (file) {
  process.on('exit', () => {
    const usage = process.resourceUsage();
    let earlier = { maxRssKb: 0, cpuMs: 0 };
    try {
      earlier = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch {
      // The first (or only) process to finish.
    }
    const own = { maxRssKb: usage.maxRSS, cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000 };
    fs.writeFileSync(file, JSON.stringify({ maxRssKb: Math.max(own.maxRssKb, earlier.maxRssKb), cpuMs: own.cpuMs + earlier.cpuMs }));
  });
}
