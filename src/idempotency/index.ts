export {
  runIdempotent,
  idempotentTransaction,
  recordIdempotentAnswer,
  parseIdempotencyKey,
  hashRequest,
  maxIdempotencyKeyLength,
  type IdempotencyClaim,
} from './run-idempotent.js';
export { deleteExpiredIdempotencyKeys, idempotencyKeyLifetimeMs } from './idempotency-repo.js';
