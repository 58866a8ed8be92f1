import readline from 'node:readline';
import { Writable } from 'node:stream';

type TerminalOutput = NodeJS.WritableStream & { columns?: number; rows?: number; isTTY?: boolean };

/**
 * What readline writes to, passed on to the real output only while a prompt is showing.
 * Between prompts — while a scene streams — readline would otherwise echo stray keys into
 * the prose and, on a terminal resize, redraw its prompt line: it returns to column 0 and
 * clears the screen below, erasing the row being streamed.
 */
class PromptGate extends Writable {
  open = false;
  private readonly passOnResize = () => {
    if (this.open) this.emit('resize');
  };

  constructor(private readonly target: TerminalOutput) {
    super();
    target.on('resize', this.passOnResize);
  }

  detach(): void {
    this.open = false;
    this.target.removeListener('resize', this.passOnResize);
  }

  get columns(): number | undefined {
    return this.target.columns;
  }

  get rows(): number | undefined {
    return this.target.rows;
  }

  get isTTY(): boolean {
    return Boolean(this.target.isTTY);
  }

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.open) this.target.write(chunk);
    callback();
  }
}

/**
 * Reads lines from a terminal or a pipe alike. readline's question() drops lines that
 * arrive before it is asked (as piped input does), so lines are queued instead.
 */
export class LineReader {
  private readonly queue: string[] = [];
  private waiting: ((line: string | null) => void) | undefined;
  private closed = false;
  private readonly gate: PromptGate;
  private readonly terminal: boolean;
  readonly rl: readline.Interface;

  constructor(input: NodeJS.ReadableStream = process.stdin, private readonly output: TerminalOutput = process.stdout) {
    this.terminal = Boolean((input as { isTTY?: boolean }).isTTY);
    this.gate = new PromptGate(output);
    this.rl = readline.createInterface({ input, output: this.gate, terminal: this.terminal });
    this.rl.on('line', (line) => {
      this.gate.open = false;
      if (this.waiting) {
        const resolve = this.waiting;
        this.waiting = undefined;
        resolve(line);
      } else {
        this.queue.push(line);
      }
    });
    this.rl.on('close', () => {
      this.gate.detach();
      this.closed = true;
      this.waiting?.(null);
      this.waiting = undefined;
    });
  }

  /** The next line, or null at end of input. */
  ask(prompt: string): Promise<string | null> {
    if (this.terminal) {
      // Keys typed while the gate was shut were never shown; drop them rather than have
      // them appear from nowhere in the answer.
      this.rl.write(null, { ctrl: true, name: 'e' });
      this.rl.write(null, { ctrl: true, name: 'u' });
      this.rl.setPrompt(prompt);
    }
    this.output.write(prompt);
    const queued = this.queue.shift();
    if (queued !== undefined) {
      // A queued line arrived while nothing was shown: echo it after its prompt.
      this.output.write(`${queued}\n`);
      return Promise.resolve(queued);
    }
    if (this.closed) {
      this.output.write('\n');
      return Promise.resolve(null);
    }
    this.gate.open = true;
    return new Promise((resolve) => {
      this.waiting = (line) => {
        if (line !== null && !this.terminal) this.output.write(`${line}\n`);
        resolve(line);
      };
    });
  }

  onInterrupt(handler: () => void): void {
    this.rl.on('SIGINT', handler);
  }

  close(): void {
    this.rl.close();
  }
}
