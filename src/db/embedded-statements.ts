import { parse as pgliteParse, protocol, type PGlite } from '@electric-sql/pglite';
import type { QueryResult } from './database.js';
import { StatementNames, isStalePreparedStatement } from './prepared-statements.js';

const { serialize } = protocol;

type Serializers = Record<number, ((value: unknown) => string) | undefined>;
type Parsers = Parameters<typeof pgliteParse.parseResults>[1];

function concat(parts: Uint8Array[]): Uint8Array {
  const joined = new Uint8Array(parts.reduce((length, part) => length + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}

/**
 * Rows a statement affected or returned, as pg reports it: PGlite counts 0 for a SELECT, and
 * a statement's RETURNING rows never outnumber the rows it changed.
 */
export function rowCountOf(result: { affectedRows?: number; rows: unknown[] }): number {
  return result.affectedRows || result.rows.length;
}

/**
 * Statements with parameters on PGlite's one connection, each prepared under a name once
 * (see StatementNames). A call is then one pass through the database (bind, describe,
 * execute, sync) where PGlite's own query() makes five, parsing and planning every time.
 * Values are serialised and rows parsed as PGlite's query() does, except bytes, which go in
 * binary (query() would pass them to the serialiser of the parameter's type). A text past
 * the bound on names runs unnamed, parsed each time, by the same path.
 */
export function createEmbeddedStatements(pglite: PGlite): <R>(sql: string, params: readonly unknown[]) => Promise<QueryResult<R>> {
  const names = new StatementNames();
  const parameterTypes = new Map<string, number[]>();
  const { serializers, parsers } = pglite as unknown as { serializers: Serializers; parsers: Parsers };

  const prepare = async (name: string, sql: string): Promise<number[]> => {
    const { messages } = await pglite.execProtocol(concat([serialize.parse({ name, text: sql }), serialize.describe({ type: 'S', name }), serialize.sync()]));
    const types = pgliteParse.parseDescribeStatementResults(messages);
    if (name !== '') parameterTypes.set(name, types);
    return types;
  };

  // Bytes (an embedding's binary real[], see embeddingParam) go as a binary parameter, as given.
  const serializeValue = (value: unknown, type: number | undefined): string | Uint8Array | null => {
    if (value === null || value === undefined) return null;
    if (value instanceof Uint8Array) return value;
    const serializer = type === undefined ? undefined : serializers[type];
    return serializer ? serializer(value) : String(value);
  };

  /** Runs `sql` under a prepared name, or unnamed (''), which is parsed again every time. */
  const run = async <R>(name: string, sql: string, params: readonly unknown[]): Promise<QueryResult<R>> => {
    const types = parameterTypes.get(name) ?? (await prepare(name, sql));
    const values = params.map((value, index) => serializeValue(value, types[index]));
    const { messages } = await pglite.execProtocol(
      concat([serialize.bind({ statement: name, values: values as string[] }), serialize.describe({ type: 'P' }), serialize.execute({}), serialize.sync()]),
    );
    const result = pgliteParse.parseResults(messages, parsers)[0]!;
    return { rows: result.rows as R[], rowCount: rowCountOf(result) };
  };

  return async <R>(sql: string, params: readonly unknown[]): Promise<QueryResult<R>> => {
    const name = names.nameOf(sql) ?? '';
    try {
      return await pglite.runExclusive(() => run<R>(name, sql, params));
    } catch (error) {
      if (name === '' || !isStalePreparedStatement(error)) throw error;
      names.forget(sql);
      // Inside a transaction the failure has aborted it: the caller's retry runs it again.
      if (pglite.isInTransaction()) throw error;
      return pglite.runExclusive(() => run<R>(names.nameOf(sql) ?? '', sql, params));
    }
  };
}
