import { AppError } from '../errors.js';
import { LineReader } from './line-reader.js';

/**
 * Asks a yes/no question on the terminal (or a pipe) for a command that changes something
 * hard to undo. `--yes` answers it for scripts; with no answer at all (input ended), the
 * command refuses as a usage error rather than guess.
 */
export async function confirm(question: string, options: { yes?: boolean; reader?: LineReader }): Promise<boolean> {
  if (options.yes) return true;
  const reader = options.reader ?? new LineReader();
  try {
    const answer = await reader.ask(`${question} [y/N] `);
    if (answer === null) throw new AppError('validation', `${question} No answer was given; pass --yes to go ahead without asking.`);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    if (!options.reader) reader.close();
  }
}
