import readline from 'node:readline';

/**
 * Reads lines from a terminal or a pipe alike. readline's question() drops lines that
 * arrive before it is asked (as piped input does), so lines are queued instead.
 */
export class LineReader {
  private readonly queue: string[] = [];
  private waiting: ((line: string | null) => void) | undefined;
  private closed = false;
  readonly rl: readline.Interface;

  constructor(input: NodeJS.ReadableStream = process.stdin, private readonly output: NodeJS.WritableStream = process.stdout) {
    this.rl = readline.createInterface({ input, output, terminal: Boolean((input as { isTTY?: boolean }).isTTY) });
    this.rl.on('line', (line) => {
      if (this.waiting) {
        const resolve = this.waiting;
        this.waiting = undefined;
        resolve(line);
      } else {
        this.queue.push(line);
      }
    });
    this.rl.on('close', () => {
      this.closed = true;
      this.waiting?.(null);
      this.waiting = undefined;
    });
  }

  /** The next line, or null at end of input. */
  ask(prompt: string): Promise<string | null> {
    this.output.write(prompt);
    const queued = this.queue.shift();
    if (queued !== undefined) {
      if (!(this.rl as unknown as { terminal: boolean }).terminal) this.output.write(`${queued}\n`);
      return Promise.resolve(queued);
    }
    if (this.closed) {
      this.output.write('\n');
      return Promise.resolve(null);
    }
    return new Promise((resolve) => {
      this.waiting = (line) => {
        if (line !== null && !(this.rl as unknown as { terminal: boolean }).terminal) this.output.write(`${line}\n`);
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
