import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { cliEntry } from '../helpers/cli.js';

describe('output into a pipe whose reader has gone (`livingworld … | head -1`)', () => {
  it('ends quietly with exit 0 instead of crashing on EPIPE', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', cliEntry, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    // The reader is gone before the command writes a byte.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(stderr).not.toMatch(/EPIPE|Error/);
    expect(code).toBe(0);
  }, 60_000);
});
