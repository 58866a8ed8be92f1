/**
 * `npm run hammer`: the long proof under load and faults. Runs every requested isolation
 * level, prints each summary, writes them to hammer/results/latest.md, and exits non-zero
 * on any violation. Parameters: see hammer-config.ts (`--clients 20 --operations 600` …).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describePlan, parseHammerPlan } from './hammer-config.js';
import { formatReport } from './format-report.js';
import { runHammer } from './run-hammer.js';

const plan = parseHammerPlan(process.argv.slice(2));
console.log(describePlan(plan));
const sections: string[] = [];
let violations = 0;
const started = Date.now();
for (const isolation of plan.isolations) {
  const report = await runHammer({ ...plan.base, isolation, log: (line) => console.log(`[${isolation}] ${line}`) });
  const lines = formatReport(report);
  console.log(`\n${lines.join('\n')}\n`);
  sections.push(lines.join('\n'));
  violations += report.violations.total;
}
const verdict = violations === 0 ? 'PASS: no violations' : `FAIL: ${violations} violations`;
console.log(`${verdict} (${((Date.now() - started) / 1000).toFixed(0)} s in all)`);
if (plan.resultsFile) {
  fs.mkdirSync(path.dirname(plan.resultsFile), { recursive: true });
  const header = ['# Hammer results', '', `Run ${new Date().toISOString()} with \`npm run hammer\`.`, '', '```', describePlan(plan), '```', ''];
  fs.writeFileSync(plan.resultsFile, [...header, ...sections, '', `**${verdict}**`, ''].join('\n'));
  console.log(`summary written to ${plan.resultsFile}`);
}
process.exit(violations === 0 ? 0 : 1);
