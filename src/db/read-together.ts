import type { Queryable } from './database.js';
import { renumberParameters } from './statement-parts.js';

/**
 * A read that can share one statement with reads of other shapes (readTogether): each one's
 * rows come back as one JSON array. Text, integer, real, uuid, boolean and json columns come
 * back as pg would give them; a timestamp comes back as text and numeric or bigint as a JSON
 * number, so a decoder reading those must accept both (new Date(…), Number(…)), as
 * toCharacter, toRelationship and toLoreEntry do.
 */
export interface SharedRead<T, R = Record<string, unknown>> {
  sql: string;
  params: unknown[];
  decode(rows: R[]): T;
}

type Results<Reads extends readonly SharedRead<unknown, never>[]> = { [K in keyof Reads]: Reads[K] extends SharedRead<infer T, never> ? T : never };

/**
 * The reads in one statement, each decoded from its own rows in the order its SQL gives them;
 * a single read is sent as it is.
 */
export async function readTogether<const Reads extends readonly SharedRead<unknown, never>[]>(db: Queryable, reads: Reads): Promise<Results<Reads>> {
  if (reads.length === 1) {
    const read = reads[0]! as SharedRead<unknown, Record<string, unknown>>;
    const { rows } = await db.query<Record<string, unknown>>(read.sql, read.params);
    return [read.decode(rows)] as Results<Reads>;
  }
  const params: unknown[] = [];
  // row_number() OVER () numbers the rows in the order the read's own ORDER BY gives them, and
  // json_agg keeps that order by it.
  const columns = reads.map((read, i) => {
    const sql = renumberParameters(read.sql, params.length);
    params.push(...read.params);
    return `(SELECT coalesce(json_agg(to_jsonb(r) - 'read_row' ORDER BY r.read_row), '[]'::json)
               FROM (SELECT q.*, row_number() OVER () AS read_row FROM (${sql}) AS q) AS r) AS read_${i}`;
  });
  const { rows } = await db.query<Record<string, Record<string, unknown>[]>>(`SELECT ${columns.join(',\n')}`, params);
  const row = rows[0]!;
  return reads.map((read, i) => (read as SharedRead<unknown, Record<string, unknown>>).decode(row[`read_${i}`] ?? [])) as Results<Reads>;
}
