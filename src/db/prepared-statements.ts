import { createHash } from 'node:crypto';
import { sqlState, sqlStateOf } from './pg-errors.js';

/**
 * The engine sends the same few dozen statement texts on every turn. Prepared once per
 * connection, each is parsed and analysed once instead of on every call, and PostgreSQL may
 * keep its plan; on the embedded database it also saves four of the five calls into the
 * WebAssembly module that an unnamed statement takes.
 *
 * The set of names is bounded: texts past `limit` run unnamed, so a caller that builds text
 * per call (it should not) cannot grow every connection's statement cache without end.
 */
export class StatementNames {
  private readonly names = new Map<string, string>();
  private generation = 0;
  private disabled = false;

  constructor(private readonly limit = 400) {}

  /** The name to prepare `sql` under, or undefined to send it unnamed. */
  nameOf(sql: string): string | undefined {
    if (this.disabled) return undefined;
    const known = this.names.get(sql);
    if (known !== undefined || this.names.size >= this.limit) return known;
    const name = `lw_${this.generation}_${createHash('sha1').update(sql).digest('hex').slice(0, 20)}`;
    this.names.set(sql, name);
    return name;
  }

  /**
   * A connection pooler between us and the server that hands each transaction to another
   * server connection (PgBouncer in transaction mode, before 1.21) loses prepared statements:
   * from then on every statement is sent unnamed.
   */
  disable(): void {
    this.disabled = true;
    this.names.clear();
  }

  /**
   * A table a prepared statement reads changed shape under it (a migration): PostgreSQL
   * refuses to run it again. The text gets a new name, so every connection prepares it afresh.
   */
  forget(sql: string): void {
    if (!this.names.delete(sql)) return;
    this.generation++;
  }
}

/** "prepared statement … does not exist": the server connection is not the one that prepared it. */
export function isMissingPreparedStatement(error: unknown): boolean {
  return sqlStateOf(error) === sqlState.invalidStatementName;
}

/**
 * "cached plan must not change result type" (feature_not_supported): a prepared statement
 * outlived a change of its table. Any other 0A000 fails again when sent afresh.
 */
export function isStalePreparedStatement(error: unknown): boolean {
  return sqlStateOf(error) === sqlState.featureNotSupported;
}
