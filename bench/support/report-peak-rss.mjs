// Preloaded into a benchmarked process: writes its peak RSS (KiB) to LW_BENCH_RSS_FILE at exit.
import fs from 'node:fs';

const file = process.env['LW_BENCH_RSS_FILE'];
if (file) process.on('exit', () => fs.writeFileSync(file, String(process.resourceUsage().maxRSS)));
