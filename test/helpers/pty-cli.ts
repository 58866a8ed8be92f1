import xtermHeadless from '@xterm/headless';
import * as pty from 'node-pty';
import { cliEntry } from './cli.js';

const { Terminal } = xtermHeadless;

/** The environment of a person's terminal: colours on (the test runner's NO_COLOR/FORCE_COLOR removed). */
function terminalEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const merged: Record<string, string | undefined> = { ...process.env, LOG_LEVEL: '', ...env };
  delete merged['NO_COLOR'];
  delete merged['FORCE_COLOR'];
  return Object.fromEntries(Object.entries(merged).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

/**
 * The real CLI in a pseudo-terminal, its output fed to a headless xterm so the test reads
 * the screen a person would see (cursor moves, line clears and the terminal's own wrapping
 * included) rather than the bytes.
 */
export class PtyCli {
  private readonly process: pty.IPty;
  readonly terminal: InstanceType<typeof Terminal>;
  /** Everything the CLI wrote, raw. */
  raw = '';
  private readonly exited: Promise<number>;
  private pendingWrites = 0;

  constructor(args: string[], env: NodeJS.ProcessEnv, size: { cols: number; rows: number }) {
    this.terminal = new Terminal({ cols: size.cols, rows: size.rows, scrollback: 10_000, allowProposedApi: true });
    this.process = pty.spawn(process.execPath, ['--import', 'tsx', cliEntry, ...args], {
      name: 'xterm-256color',
      cols: size.cols,
      rows: size.rows,
      cwd: process.cwd(),
      env: terminalEnv(env),
    });
    this.process.onData((data) => {
      this.raw += data;
      this.pendingWrites++;
      this.terminal.write(data, () => this.pendingWrites--);
    });
    this.exited = new Promise((resolve) => this.process.onExit(({ exitCode }) => resolve(exitCode)));
  }

  /** The screen and its scrollback as logical lines: rows the terminal wrapped itself are joined. */
  screenLines(): { text: string; softWrapped: boolean }[] {
    const buffer = this.terminal.buffer.active;
    const lines: { text: string; softWrapped: boolean }[] = [];
    for (let row = 0; row < buffer.length; row++) {
      const line = buffer.getLine(row)!;
      const text = line.translateToString(true);
      if (line.isWrapped && lines.length > 0) {
        const last = lines[lines.length - 1]!;
        last.text += text;
        last.softWrapped = true;
      } else {
        lines.push({ text, softWrapped: false });
      }
    }
    while (lines.length > 0 && lines[lines.length - 1]!.text === '') lines.pop();
    return lines;
  }

  screenText(): string {
    return this.screenLines()
      .map((line) => line.text)
      .join('\n');
  }

  /** Waits (bounded) until the screen's text after `from` characters matches. */
  async waitForScreen(pattern: RegExp, options: { from?: number; timeoutMs?: number } = {}): Promise<string> {
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    for (;;) {
      if (this.pendingWrites === 0) {
        const text = this.screenText().slice(options.from ?? 0);
        if (pattern.test(text)) return text;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; screen:\n${this.screenText().slice(-3000)}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** Types a line and presses Enter; returns the screen text length before it. */
  type(line: string): number {
    const mark = this.screenText().length;
    this.process.write(`${line}\r`);
    return mark;
  }

  resize(cols: number, rows: number): void {
    this.process.resize(cols, rows);
    this.terminal.resize(cols, rows);
  }

  async close(): Promise<number> {
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 15_000);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  kill(): void {
    try {
      this.process.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}
