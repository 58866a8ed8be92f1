import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import type { Database, DbConnection } from '../../src/db/index.js';
import { exportStoryArchive, importStoryArchive } from '../../src/io/index.js';
import { metricsRegistry } from '../../src/metrics.js';
import { createServerTestDatabase, type TestServerDatabase } from '../helpers/db.js';
import { insertStory } from '../helpers/fixtures.js';
import { insertBranchingStory } from './builders.js';

/**
 * With LIVINGWORLD_ISOLATION=serializable, an import used to be the pivot of a read/write
 * cycle among busy transactions: it reads the stories (the import-hash lookup) that a turn
 * writes, and writes the stories a third transaction has read. Each retry met a new cycle
 * under load, and after ten the import answered 503. It writes only its own new story, so it
 * takes no part in serializable conflicts at all.
 */

async function serializationRetries(): Promise<number> {
  const metric = await metricsRegistry.getSingleMetric('livingworld_transaction_retries_total')!.get();
  return metric.values.find((v) => v.labels['sqlstate'] === '40001')?.value ?? 0;
}

/** The same database, with `beforeStoryInsert` awaited before each `INSERT INTO stories`. */
function pausingBeforeStoryInsert(db: Database, beforeStoryInsert: () => Promise<void>): Database {
  const pausing = (connection: DbConnection): DbConnection => ({
    exec: (sql) => connection.exec(sql),
    release: (error) => connection.release(error),
    async query(sql, params) {
      if (/^\s*INSERT INTO stories\b/.test(sql)) await beforeStoryInsert();
      return connection.query(sql, params);
    },
  });
  return Object.assign(Object.create(db) as Database, { acquire: async () => pausing(await db.acquire()) });
}

let server: TestServerDatabase;
let db: Database;
beforeAll(async () => {
  server = await createServerTestDatabase({ poolSize: 6, transactionDefaults: { isolation: 'serializable' } });
  db = server.db;
});
afterAll(async () => server.drop());

describe('an import on a database whose transactions run SERIALIZABLE', () => {
  it('is written at the first try while each of its attempts sits between a reader and a writer of the stories', async () => {
    const source = await insertBranchingStory(db);
    const archive = await exportStoryArchive(db, source.storyId);
    const busy = await insertStory(db);
    const importHash = createHash('sha256').update(JSON.stringify(archive)).digest('hex');

    // A transaction that has read every story and is still open: whatever the import inserts
    // into stories, it has read "before" it.
    const reader = await db.acquire();
    await reader.exec('BEGIN ISOLATION LEVEL SERIALIZABLE');
    await reader.query('SELECT count(*) FROM stories');

    let attempts = 0;
    let hashesWritten = 0;
    // Before each attempt writes its story, a busy transaction changes a story's import hash —
    // what the attempt's own lookup read — and commits.
    const paused = pausingBeforeStoryInsert(db, async () => {
      attempts++;
      const writer = await db.acquire();
      try {
        await writer.exec('BEGIN ISOLATION LEVEL SERIALIZABLE');
        const hash = createHash('sha256').update(`other file ${attempts}`).digest('hex');
        await writer.query('UPDATE stories SET import_hash = $2 WHERE id = $1', [busy, hash]);
        await writer.exec('COMMIT');
        hashesWritten++;
      } finally {
        writer.release();
      }
    });

    const retriesBefore = await serializationRetries();
    try {
      const imported = await importStoryArchive(paused, archive, { importHash });
      expect(attempts).toBe(1);
      expect(await serializationRetries()).toBe(retriesBefore);
      const { rows } = await db.query<{ title: string; import_hash: string }>('SELECT title, import_hash FROM stories WHERE id = $1', [imported.storyId]);
      expect(rows).toEqual([{ title: archive.story.title, import_hash: importHash }]);
    } finally {
      await reader.exec('ROLLBACK');
      reader.release();
    }
    expect(hashesWritten).toBe(attempts);
  });
});
