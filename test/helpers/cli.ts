import { spawn } from 'node:child_process';
import path from 'node:path';

export const cliEntry = path.resolve('src/cli/main.ts');
/** The command as installed: the bundle `npm run build` writes (package.json "bin"). */
export const builtCliEntry = path.resolve('dist/bin/livingworld.js');

/** How to start the CLI: the current source through tsx, or the built command as users run it. */
export function cliCommand(entry: 'source' | 'built'): string[] {
  return entry === 'built' ? [builtCliEntry] : ['--import', 'tsx', cliEntry];
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI in a child process (through tsx by default, so it is always the current source). */
export function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number; entry?: 'source' | 'built' } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...cliCommand(options.entry ?? 'source'), ...args], {
      env: { ...process.env, LOG_LEVEL: '', NO_COLOR: '1', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`livingworld ${args.join(' ')} timed out; stdout: ${stdout.slice(-2000)} stderr: ${stderr.slice(-2000)}`));
    }, options.timeoutMs ?? 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    if (options.input !== undefined) child.stdin.end(options.input);
    else child.stdin.end();
  });
}
