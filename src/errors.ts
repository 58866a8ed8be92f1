import { isConnectionError, isRetryable } from './db/pg-errors.js';

/**
 * The one error type of LivingWorld. `code` is public API (HTTP bodies, CLI exit codes):
 * add codes, never rename them.
 */
export const errorCodes = {
  validation: { status: 400, exitCode: 2 },
  unauthorized: { status: 401, exitCode: 3 },
  forbidden: { status: 403, exitCode: 3 },
  not_found: { status: 404, exitCode: 4 },
  turn_conflict: { status: 409, exitCode: 5 },
  version_conflict: { status: 412, exitCode: 5 },
  payload_too_large: { status: 413, exitCode: 2 },
  idempotency_mismatch: { status: 422, exitCode: 2 },
  unprocessable: { status: 422, exitCode: 2 },
  story_archived: { status: 409, exitCode: 5 },
  turn_in_progress: { status: 409, exitCode: 5 },
  already_imported: { status: 409, exitCode: 5 },
  rate_limited: { status: 429, exitCode: 6 },
  cancelled: { status: 499, exitCode: 130 },
  llm_unavailable: { status: 503, exitCode: 7 },
  llm_bad_output: { status: 502, exitCode: 7 },
  embeddings_mismatch: { status: 409, exitCode: 8 },
  database_unavailable: { status: 503, exitCode: 9 },
  database_busy: { status: 503, exitCode: 9 },
  database_locked: { status: 503, exitCode: 9 },
  // The server is stopping: nothing was written; the same request (same key) may be sent again.
  shutting_down: { status: 503, exitCode: 9 },
  config: { status: 500, exitCode: 10 },
  internal: { status: 500, exitCode: 1 },
} as const satisfies Record<string, { status: number; exitCode: number }>;

export type ErrorCode = keyof typeof errorCodes;

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: { details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.details = options.details;
  }

  get status(): number {
    return errorCodes[this.code].status;
  }

  get exitCode(): number {
    return errorCodes[this.code].exitCode;
  }
}

export function isAppError(error: unknown, code?: ErrorCode): error is AppError {
  return error instanceof AppError && (code === undefined || error.code === code);
}

/**
 * Anything that is not an AppError is an internal error, its message not shown to clients;
 * a lost or refused database connection is named as such, since the fix is operational.
 */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (isConnectionError(error)) {
    return new AppError('database_unavailable', 'The database is unavailable right now; retry shortly.', { cause: error });
  }
  if (isRetryable(error)) {
    // Still conflicting after every retry of the transaction helper: busy, not broken.
    return new AppError('database_busy', 'The story is too busy right now; retry shortly.', { cause: error });
  }
  return new AppError('internal', 'Internal error; see the server log for details.', { cause: error });
}
