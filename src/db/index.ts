export type { Database, DbConnection, Queryable, QueryResult, TransactionDefaults } from './database.js';
export { openDatabase, openServerDatabase } from './open-database.js';
export { openEmbeddedDatabase } from './embedded-database.js';
export { describeDatabaseUrl } from './describe-database-url.js';
export { withTransaction, refuseCommits, measureLockWait, backoffDelayMs, type Transaction, type TransactionOptions, type Isolation } from './with-transaction.js';
export { migrate, pendingMigrations, readMigrations, migrationsDir } from './migrate.js';
export * from './pg-errors.js';
export { retryOnConnectionLoss } from './retry-on-connection-loss.js';
export { refreshPlannerStatistics, noteTurnForPlannerStatistics, turnsPerStatisticsRefresh } from './planner-statistics.js';
