// Preloaded into a benchmarked process: writes its peak RSS (KiB) and the CPU time it used
// (ms, user + system, every thread) as JSON to LW_BENCH_RSS_FILE at exit.
import fs from 'node:fs';

const file = process.env['LW_BENCH_RSS_FILE'];
if (file) {
  process.on('exit', () => {
    const usage = process.resourceUsage();
    fs.writeFileSync(file, JSON.stringify({ maxRssKb: usage.maxRSS, cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000 }));
  });
}
