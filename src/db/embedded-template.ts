import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readMigrations, type Migration } from './migrate.js';
import { findPackageManifest, packagePath } from '../package-root.js';

/**
 * A new embedded database costs a PGlite initdb plus every migration: seconds of CPU and about
 * 800 MB of peak memory before the first command can answer. The build writes one migrated
 * data directory (`npm run build`, scripts/build-embedded-template.mjs); a new data directory
 * starts as a copy of it, which costs no more than reopening an existing database. A copy of
 * the files beats PGlite's own `loadDataDir` tarball, which unpacks 40 MB through the WASM file
 * system (measured: about 2.5 s of CPU more than a reopen).
 */

export const embeddedTemplateDir = packagePath('dist', 'embedded-template');

interface TemplateManifest {
  /** Names of the migrations applied to the template, in order. */
  migrations: string[];
  pgliteVersion: string;
}

function manifestPath(templateDir: string): string {
  return path.join(templateDir, 'template.json');
}

export function writeTemplateManifest(templateDir: string, migrations: Migration[], pgliteVersion: string): void {
  const manifest: TemplateManifest = { migrations: migrations.map((migration) => migration.name), pgliteVersion };
  fs.writeFileSync(manifestPath(templateDir), `${JSON.stringify(manifest, null, 2)}\n`);
}

/** The package does not export its package.json, so walk up from its entry point to it. */
export function installedPgliteVersion(): string {
  return findPackageManifest(path.dirname(fileURLToPath(import.meta.resolve('@electric-sql/pglite'))), '@electric-sql/pglite')?.version ?? 'unknown';
}

/**
 * The template's data directory when it was made by this PGlite from exactly these migrations;
 * otherwise undefined, and the caller runs initdb and migrates as before.
 */
export function findUsableTemplate(templateDir: string = embeddedTemplateDir, migrations: Migration[] = readMigrations()): string | undefined {
  let manifest: TemplateManifest;
  try {
    manifest = JSON.parse(fs.readFileSync(manifestPath(templateDir), 'utf8')) as TemplateManifest;
  } catch {
    return undefined;
  }
  const names = migrations.map((migration) => migration.name);
  if (manifest.pgliteVersion !== installedPgliteVersion()) return undefined;
  if (manifest.migrations.length !== names.length || manifest.migrations.some((name, i) => name !== names[i])) return undefined;
  const pgdata = path.join(templateDir, 'pgdata');
  return fs.existsSync(path.join(pgdata, 'PG_VERSION')) ? pgdata : undefined;
}

/**
 * Makes `pgdata` a copy of the template. The copy goes to a sibling directory first and is
 * renamed into place, so a process killed mid-copy never leaves a half directory that would
 * later be opened as a database.
 */
export function copyTemplateInto(templatePgdata: string, pgdata: string): void {
  const staging = `${pgdata}.copying-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  fs.cpSync(templatePgdata, staging, { recursive: true });
  fs.renameSync(staging, pgdata);
}
