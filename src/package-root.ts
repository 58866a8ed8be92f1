import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The nearest package.json named `name` at or above `start`: its directory and version. */
export function findPackageManifest(start: string, name: string): { dir: string; version: string } | undefined {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest)) {
      const parsed = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: string; version?: string };
      if (parsed.name === name) return { dir, version: parsed.version ?? 'unknown' };
    }
    if (path.dirname(dir) === dir) return undefined;
  }
}

/**
 * LivingWorld's own package, where the files shipped beside the code live (migrations,
 * prompts, web, data, the embedded template). The same module runs at different depths below
 * it: from src/ under tsx, from dist/ as tsc writes it, and inside the bundled command in
 * dist/bin, where every module shares the bundle's location. So the root is looked up, not
 * counted in `../` steps.
 */
const here = path.dirname(fileURLToPath(import.meta.url));
const own = findPackageManifest(here, 'livingworld');
if (!own) throw new Error(`LivingWorld's package.json was not found above ${here}.`);

export const packageVersion = own.version;

/** A path inside the package: `packagePath('migrations')`. */
export function packagePath(...parts: string[]): string {
  return path.join(own!.dir, ...parts);
}
