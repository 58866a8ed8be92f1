import { spawn } from 'node:child_process';
import v8 from 'node:v8';

const liftoffOnly = '--liftoff-only';

/**
 * V8 13 (Node 24) no longer applies a WebAssembly compiler flag set at run time: there
 * `v8.setFlagsFromString('--liftoff-only')` left `list` at 1.05 s and 650 MB, against 0.63 s
 * and 280 MB with the flag on the command line. Node 20 and 22 still apply it.
 */
const runtimeWasmFlagsApply = Number(process.versions.v8.split('.')[0]) < 13;

/**
 * Runs this very command again in a Node started with the flag, passing the terminal, the
 * exit code and any stop signal through, and never returns. The first process has loaded
 * only the command line (some 0.1 s); the database opens in the second.
 */
function runAgainWithLiftoffOnly(): Promise<never> {
  const child = spawn(process.execPath, [liftoffOnly, ...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit' });
  // Ctrl-C reaches the whole process group, so the child hears it itself; a signal sent to
  // this process alone (a supervisor's SIGTERM) is passed on.
  const forward = (signal: NodeJS.Signals) => () => {
    if (signal !== 'SIGINT') child.kill(signal);
  };
  const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((signal) => [signal, forward(signal)] as const);
  for (const [signal, handler] of handlers) process.on(signal, handler);
  return new Promise<never>((_resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      for (const [name, handler] of handlers) process.off(name, handler);
      if (signal) process.kill(process.pid, signal);
      else process.exit(code ?? 1);
    });
  });
}

/** The commands that stay up besides the menu (no command at all); every other one answers and exits. */
const longRunningCommands = new Set(['play', 'serve']);

/**
 * The embedded database is PostgreSQL compiled to WebAssembly. V8 first compiles it quickly
 * (Liftoff), then recompiles what runs hot with its optimiser in the background, and a process
 * waits for that work before it can exit. A command that answers and exits never profits from
 * the optimised code: without it `list` took about 0.3 s less CPU and 90 MB less memory here.
 * Commands that stay up keep the optimiser (a turn on the embedded database took 15 % longer
 * on Liftoff alone). The flag must be set before the database's module is compiled, and on
 * Node 24 before Node starts, so this runs before the command line is even loaded: the
 * program takes no option with a value before its command, so the command is the first
 * argument that is not an option, and with none it is the menu.
 */
export async function compileForThisCommand(args: readonly string[]): Promise<void> {
  const command = args.find((arg) => !arg.startsWith('-'));
  if (command === undefined || longRunningCommands.has(command) || process.execArgv.includes(liftoffOnly)) return;
  if (runtimeWasmFlagsApply) v8.setFlagsFromString(liftoffOnly);
  else await runAgainWithLiftoffOnly();
}
