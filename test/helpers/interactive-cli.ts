import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { cliEntry } from './cli.js';

/** Drives the real CLI through its stdin, waiting for what it prints like a person would. */
export class InteractiveCli {
  private readonly child: ChildProcessWithoutNullStreams;
  output = '';
  errors = '';
  private readonly exited: Promise<number | null>;

  constructor(args: string[], env: NodeJS.ProcessEnv) {
    this.child = spawn(process.execPath, ['--import', 'tsx', cliEntry, ...args], {
      env: { ...process.env, LOG_LEVEL: '', NO_COLOR: '1', ...env },
    });
    this.child.stdout.on('data', (d: Buffer) => (this.output += d.toString()));
    this.child.stderr.on('data', (d: Buffer) => (this.errors += d.toString()));
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  /** Resolves with the output after `from` once `pattern` appears in it. */
  async waitFor(pattern: RegExp, options: { from?: number; timeoutMs?: number } = {}): Promise<string> {
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    for (;;) {
      const text = this.output.slice(options.from ?? 0);
      if (pattern.test(text)) return text;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; output so far:\n${this.output.slice(-3000)}\nstderr:\n${this.errors.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  send(line: string): number {
    const mark = this.output.length;
    this.child.stdin.write(`${line}\n`);
    return mark;
  }

  interrupt(): void {
    this.child.kill('SIGINT');
  }

  async close(): Promise<number | null> {
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}
