#!/usr/bin/env node
// Part of `npm run build`: writes dist/embedded-template, a migrated PGlite data directory that
// every new embedded database starts as a copy of (see src/db/embedded-template.ts).
import fs from 'node:fs';
import path from 'node:path';
import { openEmbeddedDatabase, migrate, readMigrations } from '../dist/db/index.js';
import { embeddedTemplateDir, installedPgliteVersion, writeTemplateManifest } from '../dist/db/embedded-template.js';

const staging = `${embeddedTemplateDir}.building-${process.pid}`;
fs.rmSync(staging, { recursive: true, force: true });
const db = await openEmbeddedDatabase({
  dataDir: staging,
  transactionDefaults: { isolation: 'read committed', statementTimeoutMs: 120_000, lockTimeoutMs: 5_000 },
});
await migrate(db);
await db.close();
fs.rmSync(path.join(staging, 'livingworld.lock'), { force: true });
writeTemplateManifest(staging, readMigrations(), installedPgliteVersion());
fs.rmSync(embeddedTemplateDir, { recursive: true, force: true });
fs.renameSync(staging, embeddedTemplateDir);
console.log(`embedded database template written to ${path.relative(process.cwd(), embeddedTemplateDir)}`);
