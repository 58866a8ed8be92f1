import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The directory of LivingWorld's package.json, where the files shipped beside the code live
 * (migrations, prompts, web, data, the embedded template). The same module runs at different
 * depths below it: from src/ under tsx, from dist/ as tsc writes it, and inside the bundled
 * command in dist/bin, where every module shares the bundle's location. So the root is
 * looked up, not counted in `../` steps.
 */
function findPackageRoot(start: string): { root: string; version: string } {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest)) {
      const parsed = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: string; version?: string };
      if (parsed.name === 'livingworld') return { root: dir, version: parsed.version ?? '0.0.0' };
    }
    if (path.dirname(dir) === dir) throw new Error(`LivingWorld's package.json was not found above ${start}.`);
  }
}

const found = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));

export const packageRoot = found.root;
export const packageVersion = found.version;

/** A path inside the package: `packagePath('migrations')`. */
export function packagePath(...parts: string[]): string {
  return path.join(packageRoot, ...parts);
}
