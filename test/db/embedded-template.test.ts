import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, openEmbeddedDatabase, readMigrations } from '../../src/db/index.js';
import { findUsableTemplate, installedPgliteVersion, writeTemplateManifest } from '../../src/db/embedded-template.js';
import { testTransactionDefaults } from '../helpers/db.js';

// A template made the way the build makes it: a data directory migrated once and closed.
let root: string;
let templateDir: string;

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-template-'));
  templateDir = path.join(root, 'template');
  const db = await openEmbeddedDatabase({ dataDir: templateDir, transactionDefaults: testTransactionDefaults, templateDir: path.join(root, 'none') });
  await migrate(db);
  await db.query(`INSERT INTO settings (key, value) VALUES ('made_by_template_test', '"yes"')`);
  await db.close();
  fs.rmSync(path.join(templateDir, 'livingworld.lock'), { force: true });
  writeTemplateManifest(templateDir, readMigrations(), installedPgliteVersion());
}, 240_000);

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('embedded database template', () => {
  it('a new data directory starts as a copy of the template: migrated, nothing left to apply, and writable', async () => {
    const dataDir = path.join(root, 'new');
    const slowStarts: string[] = [];
    const db = await openEmbeddedDatabase({ dataDir, transactionDefaults: testTransactionDefaults, templateDir, onSlowStart: (m) => slowStarts.push(m) });
    try {
      expect(slowStarts).toEqual([]);
      const marker = await db.query<{ value: string }>(`SELECT value FROM settings WHERE key = 'made_by_template_test'`);
      expect(marker.rows).toEqual([{ value: 'yes' }]);
      expect((await migrate(db)).applied).toEqual([]);
      await db.query(`INSERT INTO settings (key, value) VALUES ('written_after_copy', '1')`);
    } finally {
      await db.close();
    }
    expect(fs.readdirSync(dataDir).filter((name) => name.includes('.copying-'))).toEqual([]);
    // The template itself is untouched by what the copy wrote.
    expect(fs.existsSync(path.join(templateDir, 'livingworld.lock'))).toBe(false);
  }, 240_000);

  it('a template made from other migrations or another PGlite is not used', () => {
    const migrations = readMigrations();
    expect(findUsableTemplate(templateDir, migrations)).toBe(path.join(templateDir, 'pgdata'));
    expect(findUsableTemplate(templateDir, migrations.slice(0, -1))).toBeUndefined();
    expect(findUsableTemplate(templateDir, [...migrations, { version: 9999, name: '9999_later', sql: '' }])).toBeUndefined();
    const other = path.join(root, 'other-pglite');
    fs.mkdirSync(other);
    fs.symlinkSync(path.join(templateDir, 'pgdata'), path.join(other, 'pgdata'));
    writeTemplateManifest(other, migrations, '0.0.1');
    expect(findUsableTemplate(other, migrations)).toBeUndefined();
    expect(findUsableTemplate(path.join(root, 'missing'), migrations)).toBeUndefined();
  });

  it('without a usable template the data directory is created and migrated as before, and the wait is announced', async () => {
    const dataDir = path.join(root, 'slow');
    const slowStarts: string[] = [];
    const db = await openEmbeddedDatabase({ dataDir, transactionDefaults: testTransactionDefaults, templateDir: path.join(root, 'missing'), onSlowStart: (m) => slowStarts.push(m) });
    try {
      expect(slowStarts).toHaveLength(1);
      expect(slowStarts[0]).toContain(dataDir);
      expect((await migrate(db)).applied).toEqual(readMigrations().map((m) => m.name));
      const marker = await db.query(`SELECT 1 FROM settings WHERE key = 'made_by_template_test'`);
      expect(marker.rows).toEqual([]);
    } finally {
      await db.close();
    }
  }, 240_000);
});
