import { AppError } from '../errors.js';
import type { TurnKind } from './turn-repo.js';
import { parseIdempotencyKey } from '../idempotency/index.js';

export const maxInstructionLength = 2000;

// Newlines and tabs are fine in text; other control characters are not.
const controlCharacters = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;

export interface TurnInput {
  kind: TurnKind;
  choiceNumber: number | null;
  instruction: string | null;
  fromSceneId: string | null;
  idempotencyKey: string | null;
}

/** Checks what a user sent before anything touches the database. */
export function validateTurnInput(input: {
  kind: TurnKind;
  choiceNumber?: unknown;
  instruction?: unknown;
  fromSceneId?: unknown;
  idempotencyKey?: unknown;
}): TurnInput {
  let choiceNumber: number | null = null;
  if (input.kind === 'advance') {
    const raw = input.choiceNumber;
    const parsed = typeof raw === 'string' && /^\s*\d+\s*$/.test(raw) ? Number(raw) : raw;
    if (typeof parsed !== 'number' || !Number.isInteger(parsed)) {
      throw new AppError('validation', `The choice must be a whole number such as 1, 2 or 3 (got ${JSON.stringify(raw)}).`, {
        details: { field: 'choice' },
      });
    }
    if (parsed < 1 || parsed > 9) {
      throw new AppError('validation', `Choice ${parsed} does not exist; pick one of the numbered choices.`, { details: { field: 'choice' } });
    }
    choiceNumber = parsed;
  }
  let instruction: string | null = null;
  if (input.instruction !== undefined && input.instruction !== null) {
    if (typeof input.instruction !== 'string') {
      throw new AppError('validation', 'The instruction must be text.', { details: { field: 'instruction' } });
    }
    const trimmed = input.instruction.trim();
    if (trimmed.length > maxInstructionLength) {
      throw new AppError('validation', `The instruction is ${trimmed.length} characters long; the limit is ${maxInstructionLength}.`, {
        details: { field: 'instruction' },
      });
    }
    if (controlCharacters.test(trimmed)) {
      throw new AppError('validation', 'The instruction contains control characters.', { details: { field: 'instruction' } });
    }
    instruction = trimmed === '' ? null : trimmed;
  }
  let fromSceneId: string | null = null;
  if (input.fromSceneId !== undefined && input.fromSceneId !== null) {
    if (typeof input.fromSceneId !== 'string' || !/^[0-9a-f-]{36}$/i.test(input.fromSceneId)) {
      throw new AppError('validation', 'fromSceneId must be a scene id (a UUID).', { details: { field: 'fromSceneId' } });
    }
    fromSceneId = input.fromSceneId.toLowerCase();
  }
  const idempotencyKey = parseIdempotencyKey(input.idempotencyKey);
  return { kind: input.kind, choiceNumber, instruction, fromSceneId, idempotencyKey };
}
