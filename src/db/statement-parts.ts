import type { Queryable } from './database.js';

/**
 * A write whose reply nobody reads, sent as a data-modifying CTE of another statement of the
 * same transaction instead of as a round trip of its own: a turn's commit writes the scene,
 * its prompt, its memories and its facts in one statement. `at(offset)` gives the write's SQL
 * with its parameters numbered from `offset` + 1 (one top-level INSERT, UPDATE or DELETE:
 * PostgreSQL allows data-modifying CTEs only at the top of a statement).
 *
 * Every part of a statement reads the one snapshot the statement started with, so none sees
 * another's rows; each must stand on what existed before (foreign keys are checked at the
 * statement's end, when every part's rows exist).
 */
export interface StatementPart {
  at(offset: number): { sql: string; params: unknown[] };
}

/** `main`, whose own parameters are $1..$n, with the parts written before it as CTEs. */
export function withStatementParts(main: { sql: string; params: unknown[] }, parts: readonly StatementPart[]): { sql: string; params: unknown[] } {
  if (parts.length === 0) return main;
  const params = [...main.params];
  const ctes = parts.map((part, i) => {
    const { sql, params: own } = part.at(params.length);
    params.push(...own);
    return `part_${i + 1} AS (${sql})`;
  });
  const opening = /^\s*WITH(\s+RECURSIVE)?\s/i.exec(main.sql);
  const sql = opening
    ? `WITH${opening[1] ?? ''} ${ctes.join(',\n')},\n${main.sql.slice(opening[0].length)}`
    : `WITH ${ctes.join(',\n')}\n${main.sql}`;
  return { sql, params };
}

/** Runs the parts on their own, in one statement. */
export async function runStatementParts(tx: Queryable, parts: readonly StatementPart[]): Promise<void> {
  if (parts.length === 0) return;
  const { sql, params } = withStatementParts({ sql: 'SELECT 1', params: [] }, parts);
  await tx.query(sql, params);
}

/** A part from SQL written with `$1`..`$n` for its own parameters, renumbered where it is placed. */
export function statementPart(sql: string, params: unknown[]): StatementPart {
  return {
    at(offset) {
      return { sql: renumberParameters(sql, offset), params };
    },
  };
}

/**
 * `sql` with each parameter `$n` as `$(n + offset)`, to be sent inside a statement whose
 * parameters before it number `offset`. Only for SQL of our own, where `$` followed by a
 * digit is always a parameter (no dollar-quoted bodies, no `$` in literals).
 */
export function renumberParameters(sql: string, offset: number): string {
  return offset === 0 ? sql : sql.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`);
}
