/** Recognise PostgreSQL errors by SQLSTATE and constraint name, never by message text. */
export const sqlState = {
  uniqueViolation: '23505',
  foreignKeyViolation: '23503',
  checkViolation: '23514',
  notNullViolation: '23502',
  exclusionViolation: '23P01',
  serializationFailure: '40001',
  deadlockDetected: '40P01',
  lockNotAvailable: '55P03',
  queryCanceled: '57014',
  inFailedTransaction: '25P02',
  adminShutdown: '57P01',
  crashShutdown: '57P02',
  cannotConnectNow: '57P03',
  tooManyConnections: '53300',
  invalidTextRepresentation: '22P02',
  undefinedTable: '42P01',
  featureNotSupported: '0A000',
  invalidStatementName: '26000',
} as const;

/** Failures after which the whole transaction can safely be run again. */
export const retryableSqlStates: ReadonlySet<string> = new Set([
  sqlState.serializationFailure,
  sqlState.deadlockDetected,
  sqlState.lockNotAvailable,
]);

export interface PgErrorLike {
  code?: string;
  constraint?: string;
  table?: string;
  detail?: string;
}

export function pgErrorOf(error: unknown): PgErrorLike | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) return error as PgErrorLike;
  return undefined;
}

export function sqlStateOf(error: unknown): string | undefined {
  const code = pgErrorOf(error)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const pg = pgErrorOf(error);
  return pg?.code === sqlState.uniqueViolation && (constraint === undefined || pg.constraint === constraint);
}

export function isRetryable(error: unknown): boolean {
  const state = sqlStateOf(error);
  return state !== undefined && retryableSqlStates.has(state);
}

const networkErrorCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']);

/** The connection is gone (server restart, pg_terminate_backend, network). */
export function isConnectionError(error: unknown): boolean {
  const code = pgErrorOf(error)?.code;
  if (typeof code === 'string') {
    if (code.startsWith('08') || code === sqlState.tooManyConnections || code === sqlState.adminShutdown || code === sqlState.crashShutdown || code === sqlState.cannotConnectNow) {
      return true;
    }
    if (networkErrorCodes.has(code)) return true;
  }
  // node-postgres reports a dropped socket as a plain Error without a code; this is its only marker.
  return error instanceof Error && /Connection terminated|Client has encountered a connection error|connection is closed/i.test(error.message);
}
