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
 * Values are serialised and rows parsed exactly as PGlite's query() does.
 */
export function createEmbeddedStatements(pglite: PGlite): <R>(sql: string, params: readonly unknown[]) => Promise<QueryResult<R>> {
  const names = new StatementNames();
  const parameterTypes = new Map<string, number[]>();
  const { serializers, parsers } = pglite as unknown as { serializers: Serializers; parsers: Parsers };

  const prepare = async (name: string, sql: string): Promise<number[]> => {
    const { messages } = await pglite.execProtocol(concat([serialize.parse({ name, text: sql }), serialize.describe({ type: 'S', name }), serialize.sync()]));
    const types = pgliteParse.parseDescribeStatementResults(messages);
    parameterTypes.set(name, types);
    return types;
  };

  const runPrepared = async <R>(name: string, sql: string, params: readonly unknown[]): Promise<QueryResult<R>> => {
    const types = parameterTypes.get(name) ?? (await prepare(name, sql));
    const values = params.map((value, index) => {
      if (value === null || value === undefined) return null;
      const serializer = serializers[types[index]!];
      return serializer ? serializer(value) : String(value);
    });
    const { messages } = await pglite.execProtocol(
      concat([serialize.bind({ statement: name, values }), serialize.describe({ type: 'P' }), serialize.execute({}), serialize.sync()]),
    );
    const result = pgliteParse.parseResults(messages, parsers)[0]!;
    return { rows: result.rows as R[], rowCount: rowCountOf(result) };
  };

  const runUnnamed = async <R>(sql: string, params: readonly unknown[]): Promise<QueryResult<R>> => {
    const result = await pglite.query<R>(sql, params as unknown[]);
    return { rows: result.rows, rowCount: rowCountOf(result) };
  };

  return async <R>(sql: string, params: readonly unknown[]): Promise<QueryResult<R>> => {
    const name = names.nameOf(sql);
    if (name === undefined) return runUnnamed<R>(sql, params);
    try {
      return await pglite.runExclusive(() => runPrepared<R>(name, sql, params));
    } catch (error) {
      if (!isStalePreparedStatement(error)) throw error;
      names.forget(sql);
      // Inside a transaction the failure has aborted it: the caller's retry runs it again.
      if (pglite.isInTransaction()) throw error;
      const renamed = names.nameOf(sql);
      return renamed === undefined ? runUnnamed<R>(sql, params) : pglite.runExclusive(() => runPrepared<R>(renamed, sql, params));
    }
  };
}
