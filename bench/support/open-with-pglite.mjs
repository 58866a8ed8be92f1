// A first-start baseline: PGlite alone (with pgvector, as LivingWorld opens it) opening an
// existing data directory, one query, closed. Nothing of LivingWorld is loaded.
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: open-with-pglite.mjs PGDATA');
const pglite = new PGlite({ dataDir, extensions: { vector } });
await pglite.waitReady;
await pglite.query('SELECT 1');
await pglite.close();
