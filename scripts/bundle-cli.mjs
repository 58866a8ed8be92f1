// Part of `npm run build`: writes dist/bin/livingworld.js, the `livingworld` command, as one
// ES module of LivingWorld's own code with zod and commander inside it. Node's loader pays
// for every module it resolves, reads and links: `livingworld list` loaded some 170 of them,
// 94 for zod alone; bundled, a reopen's `list` took 1.15 s against 1.31 s (medians, by hand).
// The other dependencies stay outside, loaded from node_modules as they are: PGlite finds its
// WebAssembly beside its own module, pino starts workers from its files, node-pty is native,
// and the tokenizers, the web server and the metrics library load only when a command uses
// them. Commands load lazily what only they need (import() in src/cli), so each becomes a
// chunk beside it.
import fs from 'node:fs';
import { build } from 'esbuild';

const bundled = new Set(['zod', 'commander']);
const manifest = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const external = Object.keys(manifest.dependencies ?? {})
  .filter((name) => !bundled.has(name))
  .flatMap((name) => [name, `${name}/*`]);

// zod's classic API re-exports all its 60-odd locales as `z.locales`, and esbuild keeps a
// namespace that is used as a value whole: they were over half the main chunk, compiled by
// every command. Nothing here calls z.locales; English, the default, is imported on its own.
const withoutZodLocales = {
  name: 'without-zod-locales',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      args.importer.includes(`${'node_modules'}/zod/`) ? { path: 'zod-locales', namespace: 'without-zod-locales' } : undefined,
    );
    pluginBuild.onLoad({ filter: /.*/, namespace: 'without-zod-locales' }, () => ({ contents: 'export {};', loader: 'js' }));
  },
};

fs.rmSync(new URL('../dist/bin', import.meta.url), { recursive: true, force: true });
await build({
  entryPoints: { livingworld: 'src/cli/main.ts' },
  outdir: 'dist/bin',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external,
  sourcemap: true,
  // commander is CommonJS and requires Node's own modules; an ES bundle has no `require`.
  banner: { js: "import { createRequire as createRequireForBundle } from 'node:module'; const require = createRequireForBundle(import.meta.url);" },
  logLevel: 'warning',
  plugins: [withoutZodLocales],
});
fs.chmodSync(new URL('../dist/bin/livingworld.js', import.meta.url), 0o755);
