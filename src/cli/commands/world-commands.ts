import fs from 'node:fs';
import type { Command } from 'commander';
import { openRuntime, type Runtime } from '../../runtime.js';
import { selectEmbedder } from '../../memory/select-embedder.js';
import { ensureEmbeddingSettings } from '../../memory/embedding-settings.js';
import { addLoreEntry, editLoreEntry } from '../../memory/edit-lore.js';
import { deleteLoreEntry, listLoreEntries } from '../../memory/lore-repo.js';
import { exportCharacterCard, importCharacterCard } from '../../io/index.js';
import { AppError } from '../../errors.js';
import { printJson } from '../output.js';
import { style } from '../format.js';

async function withRuntime<T>(fn: (runtime: Runtime) => Promise<T>): Promise<T> {
  const runtime = await openRuntime();
  try {
    return await fn(runtime);
  } finally {
    await runtime.close();
  }
}

async function loreDeps(runtime: Runtime) {
  const embedder = await selectEmbedder(runtime.config);
  await ensureEmbeddingSettings(runtime.db, embedder);
  return { db: runtime.db, embedder };
}

const keywordList = (value: string) => value.split(',').map((k) => k.trim()).filter(Boolean);

/** Lore entries (world info) and character cards. */
export function registerWorldCommands(program: Command): void {
  const lore = program.command('lore').description("a story's world info: facts injected when their keywords appear or they are close in meaning");

  lore
    .command('list')
    .argument('<storyId>')
    .option('--json', 'print JSON')
    .action(async (storyId: string, options: { json?: boolean }) =>
      withRuntime(async (runtime) => {
        const entries = await listLoreEntries(runtime.db, storyId);
        if (options.json) return printJson({ entries });
        if (entries.length === 0) process.stdout.write('No lore entries.\n');
        for (const e of entries) {
          process.stdout.write(`${style.bold(e.title)} ${style.dim(`[${e.keywords.join(', ')}] v${e.version} ${e.id}`)}${e.enabled ? '' : ' (disabled)'}\n  ${e.content}\n`);
        }
      }),
    );

  lore
    .command('add')
    .argument('<storyId>')
    .requiredOption('--title <title>')
    .requiredOption('--content <text>')
    .option('--keywords <list>', 'comma-separated keywords', '')
    .option('--json', 'print JSON')
    .action(async (storyId: string, options: { title: string; content: string; keywords: string; json?: boolean }) =>
      withRuntime(async (runtime) => {
        const entry = await addLoreEntry(await loreDeps(runtime), { storyId, title: options.title, content: options.content, keywords: keywordList(options.keywords) });
        if (options.json) printJson({ entry });
        else process.stdout.write(`Added ${entry.title} (${entry.id}).\n`);
      }),
    );

  lore
    .command('edit')
    .argument('<storyId>')
    .argument('<entryId>')
    .requiredOption('--version <n>', 'the version you are editing (see lore list)', (v) => Number.parseInt(v, 10))
    .option('--title <title>')
    .option('--content <text>')
    .option('--keywords <list>', 'comma-separated keywords')
    .option('--enable')
    .option('--disable')
    .option('--json', 'print JSON')
    .action(
      async (
        storyId: string,
        entryId: string,
        options: { version: number; title?: string; content?: string; keywords?: string; enable?: boolean; disable?: boolean; json?: boolean },
      ) =>
        withRuntime(async (runtime) => {
          if (!Number.isInteger(options.version)) throw new AppError('validation', '--version must be a whole number.');
          const entry = await editLoreEntry(await loreDeps(runtime), {
            storyId,
            id: entryId,
            expectedVersion: options.version,
            patch: {
              ...(options.title !== undefined ? { title: options.title } : {}),
              ...(options.content !== undefined ? { content: options.content } : {}),
              ...(options.keywords !== undefined ? { keywords: keywordList(options.keywords) } : {}),
              ...(options.enable ? { enabled: true } : options.disable ? { enabled: false } : {}),
            },
          });
          if (options.json) printJson({ entry });
          else process.stdout.write(`Updated ${entry.title} (now version ${entry.version}).\n`);
        }),
    );

  lore
    .command('remove')
    .argument('<storyId>')
    .argument('<entryId>')
    .action(async (storyId: string, entryId: string) =>
      withRuntime(async (runtime) => {
        await deleteLoreEntry(runtime.db, storyId, entryId);
        process.stdout.write('Removed.\n');
      }),
    );

  const card = program.command('card').description('character cards (V2/V3, JSON or PNG)');

  card
    .command('import')
    .argument('<storyId>')
    .argument('<file>', 'a .json or .png character card')
    .option('--json', 'print JSON')
    .action(async (storyId: string, file: string, options: { json?: boolean }) =>
      withRuntime(async (runtime) => {
        if (!fs.existsSync(file)) throw new AppError('not_found', `Cannot read ${file}: no such file.`);
        const result = await importCharacterCard(runtime.db, storyId, fs.readFileSync(file));
        if (options.json) return printJson(result);
        process.stdout.write(`Imported character ${result.characterId} with ${result.loreEntryIds.length} lore entries.\n`);
        for (const warning of result.warnings) process.stderr.write(`warning: ${warning}\n`);
      }),
    );

  card
    .command('export')
    .argument('<storyId>')
    .argument('<characterId>')
    .option('--format <format>', 'json or png', 'json')
    .option('--card-version <n>', '2 or 3', '3')
    .option('--out <file>', 'write to this file (required for png)')
    .action(async (storyId: string, characterId: string, options: { format: string; cardVersion: string; out?: string }) =>
      withRuntime(async (runtime) => {
        if (options.format !== 'json' && options.format !== 'png') throw new AppError('validation', 'Card format must be json or png.');
        if (options.cardVersion !== '2' && options.cardVersion !== '3') throw new AppError('validation', '--card-version must be 2 or 3.');
        if (options.format === 'png' && !options.out) throw new AppError('validation', 'A PNG card needs --out FILE.');
        const exported = await exportCharacterCard(runtime.db, storyId, characterId, { format: options.format, version: Number(options.cardVersion) as 2 | 3 });
        if (options.out) fs.writeFileSync(options.out, exported.content);
        else process.stdout.write(`${exported.content as string}\n`);
      }),
    );
}
