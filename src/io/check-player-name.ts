import { AppError } from '../errors.js';
import { defaultPlayerName } from '../story/macros.js';
import { textProblem } from './validation.js';

/** The player's name as given: trimmed, 1–100 characters, no control characters. */
export function checkPlayerName(name: string | undefined): string {
  const trimmed = (name ?? defaultPlayerName).trim();
  if (trimmed.length < 1 || trimmed.length > 100) throw new AppError('validation', 'The player name must have 1 to 100 characters.', { details: { field: 'playerName' } });
  const problem = textProblem(trimmed);
  if (problem) throw new AppError('validation', `The player name ${problem}.`, { details: { field: 'playerName' } });
  return trimmed;
}
