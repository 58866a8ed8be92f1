import { spawn } from 'node:child_process';
import path from 'node:path';

export interface ServeProcess {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

const cliEntry = path.resolve('src/cli/main.ts');

/**
 * Starts `livingworld serve --port 0` from the current source (through tsx) and waits for the
 * line that names its URL. Stopping sends SIGTERM to this child only, then SIGKILL after 10 s.
 */
export function startServeProcess(env: NodeJS.ProcessEnv, options: { timeoutMs?: number } = {}): Promise<ServeProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', cliEntry, 'serve', '--port', '0', '--host', '127.0.0.1'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    const stop = async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    };
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`serve did not print its URL within ${options.timeoutMs ?? 60_000} ms; stderr: ${stderr.slice(-2000)}`));
    }, options.timeoutMs ?? 60_000);
    child.stdout.on('data', (data: Buffer) => {
      stdout += data.toString();
      const match = /LivingWorld listening on (http:\/\/\S+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve({ url: match[1]!, pid: child.pid!, stop });
      }
    });
    child.stderr.on('data', (data: Buffer) => {
      stderr = (stderr + data.toString()).slice(-20_000);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code} before listening; stderr: ${stderr.slice(-2000)}`));
    });
  });
}
