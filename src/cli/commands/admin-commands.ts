import fs from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../../config.js';
import { createLogger, setLogger } from '../../logger.js';
import { migrate, openDatabase } from '../../db/index.js';
import { openRuntime } from '../../runtime.js';
import { readDatabaseStats } from '../../story/database-stats.js';
import { getStory } from '../../story/story-repo.js';
import { printJson } from '../output.js';

// Embedders and the story file codecs are imported inside the actions that use them: the
// other commands start without them.

export function registerAdminCommands(program: Command): void {
  program
    .command('migrate')
    .description('apply pending database migrations (safe to run from several processes at once)')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const config = loadConfig();
      setLogger(createLogger(config.logLevel ?? 'warn'));
      const db = await openDatabase(config);
      try {
        const result = await migrate(db);
        if (options.json) printJson(result);
        else process.stdout.write(result.applied.length ? `Applied ${result.applied.join(', ')}; schema at version ${result.version}.\n` : `Schema is current (version ${result.version}).\n`);
      } finally {
        await db.close();
      }
    });

  program
    .command('stats')
    .description('turn, conflict, takeover and lock-wait figures, model calls by purpose and background jobs, from the database')
    .option('--story <id>', 'model calls by purpose and background jobs of one story as well')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean; story?: string }) => {
      const runtime = await openRuntime();
      try {
        const stats = await readDatabaseStats(runtime.db, options.story ? { storyId: await getStory(runtime.db, options.story).then((story) => story.id) } : {});
        if (options.json) {
          printJson(stats);
          return;
        }
        for (const [key, value] of Object.entries(stats)) process.stdout.write(`${key.padEnd(28)} ${typeof value === 'object' ? JSON.stringify(value) : value}\n`);
      } finally {
        await runtime.close();
      }
    });

  program
    .command('export')
    .description('export a story as JSON (lossless), Markdown or Twee 3')
    .argument('<storyId>')
    .option('--format <format>', 'json, md or twee', 'json')
    .option('--out <file>', 'write to this file instead of stdout')
    .option('--with-prompts', "include what the model was sent for each scene (JSON only; importing keeps them)")
    .action(async (storyId: string, options: { format: string; out?: string; withPrompts?: boolean }) => {
      const runtime = await openRuntime();
      try {
        const { exportStoryAs } = await import('../story-files.js');
        const text = await exportStoryAs(runtime.db, storyId, options.format.toLowerCase(), { withPrompts: options.withPrompts ?? false });
        if (options.out) fs.writeFileSync(options.out, text);
        else process.stdout.write(text);
      } finally {
        await runtime.close();
      }
    });

  program
    .command('import')
    .description('import a story file: LivingWorld JSON, the Python LivingWorld 1.0 export, Markdown, Twee 3 or Twine 2 HTML')
    .argument('<file>')
    .option('--yes', 'import a file imported before as another copy without asking')
    .option('--json', 'print JSON')
    .action(async (file: string, options: { json?: boolean; yes?: boolean }) => {
      const runtime = await openRuntime();
      try {
        const { describeImport, importStoryFromFile } = await import('../story-files.js');
        const result = await importStoryFromFile(runtime.db, file, { yes: options.yes });
        if (options.json) printJson(result ?? { imported: false });
        else process.stdout.write(result ? `${describeImport(result)}\n` : 'Nothing was imported.\n');
      } finally {
        await runtime.close();
      }
    });

  program
    .command('reembed')
    .description('recompute every embedding with the configured embedder (after changing EMBEDDINGS_PROVIDER)')
    .action(async () => {
      const runtime = await openRuntime();
      try {
        const [{ selectEmbedder }, { reembedAll }] = await Promise.all([import('../../memory/select-embedder.js'), import('../../memory/embedding-settings.js')]);
        const embedder = await selectEmbedder(runtime.config);
        const { rows } = await reembedAll(runtime.db, embedder, {
          onProgress: (progress) => process.stderr.write(`\r${progress.table}: ${progress.done} rows   `),
        });
        process.stdout.write(`\nRe-embedded ${rows} rows with ${embedder.name} ${embedder.model} (${embedder.dimension} dimensions).\n`);
      } finally {
        await runtime.close();
      }
    });
}
