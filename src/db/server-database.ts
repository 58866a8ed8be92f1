import pg from 'pg';
import type { Database, DbConnection, QueryResult, TransactionDefaults } from './database.js';
import { getLogger } from '../logger.js';
import { isConnectionError } from './pg-errors.js';
import { describeDatabaseUrl } from './describe-database-url.js';
import { StatementNames, isMissingPreparedStatement, isStalePreparedStatement } from './prepared-statements.js';

export interface ServerDatabaseOptions {
  url: string;
  poolSize: number;
  transactionDefaults: TransactionDefaults;
  applicationName?: string;
}

// Our int8 values (versions, counts) stay far below 2^53; numbers keep both backends alike.
const types = {
  getTypeParser(oid: number, format?: string) {
    if (oid === pg.types.builtins.INT8) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

/**
 * LISTEN needs one long-lived connection of its own. It reconnects with backoff when the
 * server drops it (restart, pg_terminate_backend) and re-subscribes every channel.
 */
class NotificationListener {
  private client: pg.Client | undefined;
  private connecting: Promise<pg.Client> | undefined;
  private readonly handlers = new Map<string, Set<(payload: string) => void>>();
  private readonly reconnectHandlers = new Set<() => void>();
  private connectedBefore = false;
  private closed = false;

  constructor(private readonly config: pg.ClientConfig) {}

  private async connect(): Promise<pg.Client> {
    if (this.client) return this.client;
    this.connecting ??= (async () => {
      let delayMs = 100;
      for (;;) {
        const client = new pg.Client(this.config);
        // Listeners first: the connection can be killed at any moment, the handshake included.
        let connected = false;
        client.on('notification', (message) => {
          for (const handler of this.handlers.get(message.channel) ?? []) handler(message.payload ?? '');
        });
        client.on('error', (error) => {
          if (!connected) return;
          connected = false;
          getLogger().warn({ err: error }, 'notification connection lost; reconnecting');
          if (this.client === client) this.client = undefined;
          client.end().catch(() => {});
          if (!this.closed && this.handlers.size > 0) void this.connect().catch(() => {});
        });
        try {
          await client.connect();
          connected = true;
          for (const channel of this.handlers.keys()) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
          this.client = client;
          if (this.connectedBefore) {
            for (const onReconnect of [...this.reconnectHandlers]) {
              try {
                onReconnect();
              } catch (error) {
                getLogger().warn({ err: error }, 'a reconnection handler failed');
              }
            }
          }
          this.connectedBefore = true;
          return client;
        } catch (error) {
          await client.end().catch(() => {});
          if (this.closed) throw error;
          await new Promise((resolve) => setTimeout(resolve, delayMs));
          delayMs = Math.min(delayMs * 2, 2000);
        }
      }
    })().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  async subscribe(channel: string, handler: (payload: string) => void, onReconnect?: () => void): Promise<() => Promise<void>> {
    if (onReconnect) this.reconnectHandlers.add(onReconnect);
    let set = this.handlers.get(channel);
    const isNewChannel = set === undefined;
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
    }
    set.add(handler);
    const client = await this.connect();
    if (isNewChannel && client === this.client) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    return async () => {
      if (onReconnect) this.reconnectHandlers.delete(onReconnect);
      set.delete(handler);
      if (set.size === 0 && this.handlers.get(channel) === set) {
        this.handlers.delete(channel);
        await this.client?.query(`UNLISTEN ${pg.escapeIdentifier(channel)}`).catch(() => {});
      }
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.client?.end().catch(() => {});
    this.client = undefined;
  }
}

export async function openServerDatabase(options: ServerDatabaseOptions): Promise<Database> {
  const clientConfig: pg.ClientConfig = {
    connectionString: options.url,
    application_name: options.applicationName ?? 'livingworld',
    types,
    connectionTimeoutMillis: 10_000,
  };
  const pool = new pg.Pool({ ...clientConfig, max: options.poolSize, idleTimeoutMillis: 30_000 });
  // An idle client that loses its connection emits here; without a handler it would crash the process.
  pool.on('error', (error) => getLogger().warn({ err: error }, 'idle database connection lost'));
  // Every client keeps a listener of its own for its whole life: a connection killed at any
  // moment (checked out, being released, being ended) must never be an unhandled 'error'.
  pool.on('connect', (client) => client.on('error', () => {}));
  const listener = new NotificationListener(clientConfig);
  const statementNames = new StatementNames();

  // Fail fast with a clear cause if the server cannot be reached.
  const probe = await pool.connect();
  probe.release();

  getLogger().info(
    { database: describeDatabaseUrl(options.url), poolSize: options.poolSize, ...options.transactionDefaults },
    'database pool created',
  );

  const database: Database = {
    kind: 'server',
    description: describeDatabaseUrl(options.url),
    transactionDefaults: options.transactionDefaults,

    // Through acquire(), not pool.query(): a client whose connection is killed mid-query must
    // have an error listener, or its 'error' event crashes the process.
    async query<R>(sql: string, params?: readonly unknown[]) {
      const connection = await database.acquire();
      try {
        let result: QueryResult<R>;
        try {
          result = await connection.query<R>(sql, params);
        } catch (error) {
          // Outside a transaction a statement whose table changed shape, or that a pooler lost, is simply sent again.
          if (!isStalePreparedStatement(error) && !isMissingPreparedStatement(error)) throw error;
          result = await connection.query<R>(sql, params);
        }
        connection.release();
        return result;
      } catch (error) {
        connection.release(isConnectionError(error) ? error : undefined);
        throw error;
      }
    },

    async acquire(): Promise<DbConnection> {
      const client = await pool.connect();
      // A checked-out client whose connection dies between statements emits 'error'; without a
      // listener that would crash the process. The next statement fails and is handled there.
      let lostConnection: Error | undefined;
      const onError = (error: Error) => {
        lostConnection = error;
        getLogger().warn({ err: error }, 'database connection lost while checked out');
      };
      client.on('error', onError);
      return {
        async query(sql, params) {
          const name = params === undefined ? undefined : statementNames.nameOf(sql);
          try {
            const result = name === undefined ? await client.query(sql, params as unknown[] | undefined) : await client.query({ name, text: sql, values: params as unknown[] });
            return { rows: result.rows, rowCount: result.rowCount ?? result.rows.length };
          } catch (error) {
            if (name !== undefined && isStalePreparedStatement(error)) statementNames.forget(sql);
            if (name !== undefined && isMissingPreparedStatement(error)) statementNames.disable();
            throw error;
          }
        },
        async exec(sql) {
          await client.query(sql);
        },
        release(error?: unknown) {
          const broken = error ?? lostConnection;
          // A broken client may still emit while the pool ends it: it keeps our listener.
          if (broken === undefined) client.off('error', onError);
          client.release(broken instanceof Error ? broken : broken === undefined ? undefined : true);
        },
      };
    },

    listen(channel, onNotify, onReconnect) {
      return listener.subscribe(channel, onNotify, onReconnect);
    },

    poolStats() {
      return { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount };
    },

    async close() {
      await listener.close();
      await pool.end();
    },
  };
  return database;
}
