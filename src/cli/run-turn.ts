import { isAppError } from '../errors.js';
import type { EngineRuntime } from '../runtime.js';
import type { SceneView } from '../story/scene-view.js';
import { takeTurn, type TurnRequest } from '../story/take-turn.js';
import type { LineReader } from './line-reader.js';
import { renderScene, style, wrap } from './format.js';

const spinnerFrames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * Runs one turn for the terminal: streams the prose as it is written (a spinner until the
 * first words), and lets Ctrl-C cancel it cleanly — a cancelled turn writes nothing.
 */
export async function runTurnInTerminal(
  runtime: EngineRuntime,
  reader: LineReader | undefined,
  request: Omit<TurnRequest, 'signal' | 'onText' | 'onThinking'>,
): Promise<SceneView | undefined> {
  const controller = new AbortController();
  const cancel = () => controller.abort();
  process.on('SIGINT', cancel);
  reader?.onInterrupt(cancel);
  const out = process.stdout;
  let streamed = false;
  let spinnerIndex = 0;
  let thinking = false;
  const spinner = out.isTTY
    ? setInterval(() => {
        if (!streamed) out.write(`\r\x1b[K${spinnerFrames[spinnerIndex++ % spinnerFrames.length]} ${thinking ? 'thinking…' : 'writing the scene…'}`);
      }, 100)
    : undefined;
  try {
    const result = await takeTurn(runtime.deps, {
      ...request,
      signal: controller.signal,
      onThinking: (active) => {
        thinking = active;
        if (active && !out.isTTY && !streamed) out.write('thinking…\n');
      },
      onText: (text) => {
        if (!streamed) {
          streamed = true;
          if (out.isTTY) out.write('\r\x1b[K');
          out.write('\n');
        }
        out.write(text);
      },
    });
    if (spinner) out.write('\r\x1b[K');
    out.write(`\n${renderScene(result.scene, { includeProse: !streamed })}\n\n`);
    return result.scene;
  } catch (error) {
    if (spinner) out.write('\r\x1b[K');
    if (isAppError(error, 'cancelled')) {
      out.write(`\n${style.yellow('Cancelled; nothing was written.')}\n`);
      return undefined;
    }
    if (isAppError(error, 'turn_conflict')) {
      const head = error.details?.['head'] as SceneView | null | undefined;
      out.write(`\n${style.yellow(wrap(error.message))}\n`);
      if (head) out.write(`\n${renderScene(head)}\n\n`);
      return head ?? undefined;
    }
    throw error;
  } finally {
    if (spinner) clearInterval(spinner);
    process.off('SIGINT', cancel);
    reader?.rl.removeListener('SIGINT', cancel);
  }
}
