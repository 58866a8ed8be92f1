// The first-start baseline: a new data directory made with initdb and every migration.
import path from 'node:path';
import { migrate, openEmbeddedDatabase } from '../../src/db/index.js';

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: open-without-template.ts DATA_DIR');
const db = await openEmbeddedDatabase({
  dataDir,
  transactionDefaults: { isolation: 'read committed', statementTimeoutMs: 120_000, lockTimeoutMs: 5_000 },
  templateDir: path.join(dataDir, 'no-template-here'),
});
await migrate(db);
await db.close();
