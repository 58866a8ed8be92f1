import { isAppError } from '../errors.js';
import type { EngineRuntime } from '../runtime.js';
import type { SceneView } from '../story/scene-view.js';
import { takeTurn, type TurnRequest } from '../story/take-turn.js';
import type { LineReader } from './line-reader.js';
import { lineWidth, renderScene, renderSceneHeader, style, wrap } from './format.js';
import { getScene, getStory } from '../story/story-repo.js';
import { WordWrapper } from './word-wrapper.js';

const spinnerFrames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** The header of the scene this turn writes, printed above its prose as the prose streams. */
async function headerOfSceneToWrite(runtime: EngineRuntime, request: Pick<TurnRequest, 'storyId' | 'kind'>): Promise<string> {
  const { provider } = runtime.deps;
  let sceneNumber = 1;
  if (request.kind !== 'open') {
    const story = await getStory(runtime.db, request.storyId);
    const head = story.headSceneId ? await getScene(runtime.db, story.id, story.headSceneId) : undefined;
    sceneNumber = head ? head.sceneNumber + (request.kind === 'regenerate' ? 0 : 1) : 1;
  }
  return renderSceneHeader({ sceneNumber, offline: provider.offline, provider: provider.name, model: provider.model });
}

/**
 * Runs one turn for the terminal: streams the prose as it is written (a spinner until the
 * first words), wrapped at word boundaries to the terminal's width, and lets Ctrl-C cancel
 * it cleanly — a cancelled turn writes nothing. Only the spinner's own line is ever
 * cleared; streamed text stays as it was printed.
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
  const header = await headerOfSceneToWrite(runtime, request);
  // Piped output is for programs: the prose goes through unwrapped, as it was written.
  const prose = new WordWrapper((text) => out.write(text), out.isTTY ? lineWidth : () => Infinity);
  /** Ends the streamed prose's last line; before any prose, removes the spinner. */
  const finishStreamOrSpinner = () => {
    if (streamed) {
      prose.end();
      out.write('\n');
    } else if (spinner) {
      out.write('\r\x1b[K');
    }
  };
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
          out.write(`\n${header}\n\n`);
        }
        prose.push(text);
      },
    });
    finishStreamOrSpinner();
    out.write(`\n${renderScene(result.scene, { includeProse: !streamed })}\n\n`);
    return result.scene;
  } catch (error) {
    finishStreamOrSpinner();
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
