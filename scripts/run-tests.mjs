#!/usr/bin/env node
// Runs the vitest suite and ends with the plain summary line `N passed, N failed`.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const reportPath = path.join(os.tmpdir(), `livingworld-vitest-${process.pid}.json`);
const vitest = path.resolve('node_modules/vitest/vitest.mjs');
const result = spawnSync(
  process.execPath,
  [vitest, 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${reportPath}`, ...process.argv.slice(2)],
  { stdio: 'inherit' },
);

let passed = 0;
let failed = 0;
let skipped = 0;
try {
  const report = JSON.parse(fs.readFileSync(reportPath, 'utf8'));
  passed = report.numPassedTests ?? 0;
  skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  // A suite that failed to load has no failed tests of its own; count it so the line is honest.
  failed = (report.numFailedTests ?? 0) + (report.testResults ?? []).filter((s) => s.status === 'failed' && (s.assertionResults ?? []).length === 0).length;
  fs.rmSync(reportPath, { force: true });
} catch {
  failed = Math.max(failed, 1);
}
const exitCode = result.status ?? 1;
if (exitCode !== 0 && failed === 0) failed = 1;
console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(exitCode === 0 && failed === 0 ? 0 : 1);
