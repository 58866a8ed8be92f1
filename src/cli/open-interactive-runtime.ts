import { isAppError } from '../errors.js';
import { pullOllamaModel } from '../llm/pull-model.js';
import { openEngineRuntime, type EngineRuntime } from '../runtime.js';
import type { LineReader } from './line-reader.js';

function progressBar(completed: number, total: number, width = 30): string {
  const filled = Math.round((completed / total) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${Math.floor((completed / total) * 100)}%`;
}

/**
 * For the interactive commands: when Ollama is there but lacks the configured model, offer
 * to pull it (with a progress bar) instead of only failing.
 */
export async function openInteractiveEngineRuntime(reader: LineReader): Promise<EngineRuntime> {
  try {
    return await openEngineRuntime({ backgroundWorker: true });
  } catch (error) {
    const missingModel = isAppError(error, 'llm_unavailable') ? error.details?.['missingModel'] : undefined;
    const host = isAppError(error) ? error.details?.['host'] : undefined;
    if (typeof missingModel !== 'string' || typeof host !== 'string') throw error;
    process.stdout.write(`${error instanceof Error ? error.message : ''}\n`);
    const answer = await reader.ask(`Pull ${missingModel} from ${host} now? [y/N] `);
    if (!/^y(es)?$/i.test(answer?.trim() ?? '')) throw error;
    let lastStatus = '';
    await pullOllamaModel(host, missingModel, (progress) => {
      const line =
        progress.total && progress.completed !== undefined ? `${progress.status} ${progressBar(progress.completed, progress.total)}` : progress.status;
      if (line === lastStatus) return;
      lastStatus = line;
      process.stdout.write(process.stdout.isTTY ? `\r\x1b[K${line}` : `${line}\n`);
    });
    process.stdout.write(`${process.stdout.isTTY ? '\n' : ''}Pulled ${missingModel}.\n`);
    return openEngineRuntime({ env: { ...process.env, OLLAMA_MODEL: missingModel }, backgroundWorker: true });
  }
}
