import fs from 'node:fs';
import type { Command } from 'commander';
import { openRuntime, type Runtime } from '../../runtime.js';
import { deleteLoreEntry, listLoreEntries } from '../../memory/lore-repo.js';
import { loreOptionsInput, lorePositions, type LoreOptionsInput } from '../../memory/lore-options.js';
import { AppError } from '../../errors.js';
import { printJson } from '../output.js';
import { style } from '../format.js';

// Embedders and the card and lorebook codecs are imported inside the actions that use them: a
// command that only reads the database (`lore list`) starts without them.

async function withRuntime<T>(fn: (runtime: Runtime) => Promise<T>): Promise<T> {
  const runtime = await openRuntime();
  try {
    return await fn(runtime);
  } finally {
    await runtime.close();
  }
}

async function loreDeps(runtime: Runtime) {
  const [{ selectEmbedder }, { ensureEmbeddingSettings }] = await Promise.all([import('../../memory/select-embedder.js'), import('../../memory/embedding-settings.js')]);
  const embedder = await selectEmbedder(runtime.config);
  await ensureEmbeddingSettings(runtime.db, embedder);
  return { db: runtime.db, embedder };
}

const keywordList = (value: string) => value.split(',').map((k) => k.trim()).filter(Boolean);

interface LoreOptionFlags {
  secondaryKeywords?: string;
  logic?: string;
  constant?: boolean;
  order?: string;
  position?: string;
  depth?: string;
  probability?: string;
  caseSensitive?: boolean;
  wholeWords?: boolean;
  scanDepth?: string;
  role?: string;
  group?: string;
  groupWeight?: string;
  prioritize?: boolean;
  groupScoring?: boolean;
  sticky?: string;
  cooldown?: string;
  delay?: string;
  excludeRecursion?: boolean;
  preventRecursion?: boolean;
  delayUntilRecursion?: string;
  ignoreBudget?: boolean;
}

/** The same options as the API (lore-options.ts), from flags; bad values get the API's message. */
function loreOptionsFromFlags(flags: LoreOptionFlags): LoreOptionsInput {
  const number = (value: string | undefined) => (value === undefined ? undefined : Number(value));
  const raw = {
    ...(flags.secondaryKeywords !== undefined ? { secondaryKeywords: keywordList(flags.secondaryKeywords) } : {}),
    ...(flags.logic !== undefined ? { selectiveLogic: flags.logic.replace(/[\s-]+/g, '_').toLowerCase() } : {}),
    ...(flags.constant !== undefined ? { constant: flags.constant } : {}),
    ...(flags.order !== undefined ? { insertionOrder: number(flags.order) } : {}),
    ...(flags.position !== undefined ? { position: flags.position.replace(/-/g, '_') } : {}),
    ...(flags.depth !== undefined ? { depth: number(flags.depth) } : {}),
    ...(flags.probability !== undefined ? { probability: number(flags.probability) } : {}),
    ...(flags.caseSensitive !== undefined ? { caseSensitive: flags.caseSensitive } : {}),
    ...(flags.wholeWords !== undefined ? { matchWholeWords: flags.wholeWords } : {}),
    ...(flags.scanDepth !== undefined ? { scanDepth: flags.scanDepth === 'story' ? null : number(flags.scanDepth) } : {}),
    ...(flags.role !== undefined ? { depthRole: flags.role } : {}),
    ...(flags.group !== undefined ? { inclusionGroup: flags.group } : {}),
    ...(flags.groupWeight !== undefined ? { groupWeight: number(flags.groupWeight) } : {}),
    ...(flags.prioritize !== undefined ? { groupOverride: flags.prioritize } : {}),
    ...(flags.groupScoring !== undefined ? { useGroupScoring: flags.groupScoring } : {}),
    ...(flags.sticky !== undefined ? { sticky: number(flags.sticky) } : {}),
    ...(flags.cooldown !== undefined ? { cooldown: number(flags.cooldown) } : {}),
    ...(flags.delay !== undefined ? { delay: number(flags.delay) } : {}),
    ...(flags.excludeRecursion !== undefined ? { excludeRecursion: flags.excludeRecursion } : {}),
    ...(flags.preventRecursion !== undefined ? { preventRecursion: flags.preventRecursion } : {}),
    ...(flags.delayUntilRecursion !== undefined ? { delayUntilRecursion: number(flags.delayUntilRecursion) } : {}),
    ...(flags.ignoreBudget !== undefined ? { ignoreBudget: flags.ignoreBudget } : {}),
  };
  const parsed = loreOptionsInput.safeParse(raw);
  if (!parsed.success) throw new AppError('validation', parsed.error.issues[0]!.message);
  return parsed.data;
}

/** Flags for every lore option, shared by `lore add` and `lore edit`. */
function withLoreOptionFlags(command: Command): Command {
  return command
    .option('--secondary-keywords <list>', 'comma-separated secondary keywords')
    .option('--logic <logic>', 'how secondary keywords combine: and_any, not_all, not_any, and_all')
    .option('--constant', 'in every prompt')
    .option('--no-constant', 'only when it matches')
    .option('--order <n>', 'insertion order: higher is placed later and kept first under the budget')
    .option('--position <where>', `${lorePositions.join(', ')}`)
    .option('--depth <n>', 'for at_depth: scenes from the end (0: after the newest)')
    .option('--role <role>', 'for at_depth: system, user or assistant')
    .option('--group <names>', 'inclusion groups, comma-separated: one entry of a group is added per turn')
    .option('--group-weight <n>', 'chance of being the one drawn from its group')
    .option('--prioritize', 'wins its group over weights (the highest order among these)')
    .option('--no-prioritize', 'drawn by weight in its group')
    .option('--group-scoring', 'in a group, only the entries matching the most keywords take part')
    .option('--no-group-scoring', 'no group scoring for this entry')
    .option('--sticky <scenes>', 'stays in that many scenes after it is activated')
    .option('--cooldown <scenes>', 'cannot be activated for that many scenes afterwards')
    .option('--delay <scenes>', 'cannot be activated before the story has that many scenes')
    .option('--exclude-recursion', 'never activated by other entries\' content')
    .option('--prevent-recursion', 'its content activates no other entry')
    .option('--delay-until-recursion <level>', 'activated only by other entries\' content, from that recursion level (0: off)')
    .option('--ignore-budget', 'added even when the lore token budget is spent')
    .option('--probability <percent>', 'chance, 0-100, that it is added when it matches')
    .option('--case-sensitive', 'keywords match only in the same case')
    .option('--no-case-sensitive', 'keywords match in any case')
    .option('--whole-words', 'keywords match only as whole words')
    .option('--no-whole-words', 'keywords match inside words too')
    .option('--scan-depth <n>', 'recent scenes searched for its keywords, or "story"');
}

/** Commander sets a negatable flag's default; only flags the user gave count. */
function givenFlags<T extends object>(command: Command, options: T): T {
  return Object.fromEntries(Object.entries(options).filter(([key]) => command.getOptionValueSource(key) === 'cli')) as T;
}

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

  withLoreOptionFlags(
    lore
      .command('add')
      .argument('<storyId>')
      .requiredOption('--title <title>')
      .requiredOption('--content <text>')
      .option('--keywords <list>', 'comma-separated keywords (a keyword written /pattern/flags is a regular expression)', ''),
  )
    .option('--json', 'print JSON')
    .action(async (storyId: string, options: { title: string; content: string; keywords: string; json?: boolean } & LoreOptionFlags, command: Command) =>
      withRuntime(async (runtime) => {
        const loreOptions = loreOptionsFromFlags(givenFlags(command, options));
        const { addLoreEntry } = await import('../../memory/edit-lore.js');
        const entry = await addLoreEntry(await loreDeps(runtime), {
          storyId,
          title: options.title,
          content: options.content,
          keywords: keywordList(options.keywords),
          ...loreOptions,
        });
        if (options.json) printJson({ entry });
        else process.stdout.write(`Added ${entry.title} (${entry.id}).\n`);
      }),
    );

  withLoreOptionFlags(
    lore
      .command('edit')
      .argument('<storyId>')
      .argument('<entryId>')
      .requiredOption('--version <n>', 'the version you are editing (see lore list)', (v) => Number.parseInt(v, 10))
      .option('--title <title>')
      .option('--content <text>')
      .option('--keywords <list>', 'comma-separated keywords')
      .option('--enable')
      .option('--disable'),
  )
    .option('--json', 'print JSON')
    .action(
      async (
        storyId: string,
        entryId: string,
        options: { version: number; title?: string; content?: string; keywords?: string; enable?: boolean; disable?: boolean; json?: boolean } & LoreOptionFlags,
        command: Command,
      ) =>
        withRuntime(async (runtime) => {
          if (!Number.isInteger(options.version)) throw new AppError('validation', '--version must be a whole number.');
          const loreOptions = loreOptionsFromFlags(givenFlags(command, options));
          const { editLoreEntry } = await import('../../memory/edit-lore.js');
          const entry = await editLoreEntry(await loreDeps(runtime), {
            storyId,
            id: entryId,
            expectedVersion: options.version,
            patch: {
              ...(options.title !== undefined ? { title: options.title } : {}),
              ...(options.content !== undefined ? { content: options.content } : {}),
              ...(options.keywords !== undefined ? { keywords: keywordList(options.keywords) } : {}),
              ...(options.enable ? { enabled: true } : options.disable ? { enabled: false } : {}),
              ...loreOptions,
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

  lore
    .command('import')
    .description('add a SillyTavern World Info file (or a character_book) to a story')
    .argument('<storyId>')
    .argument('<file>', 'a World Info .json file')
    .option('--json', 'print JSON')
    .action(async (storyId: string, file: string, options: { json?: boolean }) =>
      withRuntime(async (runtime) => {
        if (!fs.existsSync(file)) throw new AppError('not_found', `Cannot read ${file}: no such file.`);
        const { importLorebook } = await import('../../io/import-lorebook.js');
        const result = await importLorebook(await loreDeps(runtime), storyId, fs.readFileSync(file));
        if (options.json) return printJson(result);
        process.stdout.write(`Imported ${result.loreEntryIds.length} lore entries.\n`);
        for (const note of result.notes) process.stderr.write(`note: ${note}\n`);
      }),
    );

  lore
    .command('export')
    .description("a story's lore as a SillyTavern World Info file")
    .argument('<storyId>')
    .option('--out <file>', 'write to this file instead of stdout')
    .action(async (storyId: string, options: { out?: string }) =>
      withRuntime(async (runtime) => {
        const { exportLorebook } = await import('../../io/export-lorebook.js');
        const book = await exportLorebook(runtime.db, storyId);
        const json = `${JSON.stringify(book.document, null, 2)}\n`;
        if (options.out) fs.writeFileSync(options.out, json);
        else process.stdout.write(json);
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
        const [{ embedder }, { importCharacterCard }] = await Promise.all([loreDeps(runtime), import('../../io/index.js')]);
        const result = await importCharacterCard(runtime.db, storyId, fs.readFileSync(file), embedder);
        if (options.json) return printJson(result);
        process.stdout.write(`Imported character ${result.characterId} with ${result.loreEntryIds.length} lore entries.\n`);
        for (const warning of result.warnings) process.stderr.write(`warning: ${warning}\n`);
      }),
    );

  card
    .command('export')
    .argument('<storyId>')
    .argument('<characterId>')
    .option('--format <format>', 'json, png or charx', 'json')
    .option('--card-version <n>', '2 or 3', '3')
    .option('--out <file>', 'write to this file (required for png)')
    .action(async (storyId: string, characterId: string, options: { format: string; cardVersion: string; out?: string }) =>
      withRuntime(async (runtime) => {
        if (options.format !== 'json' && options.format !== 'png' && options.format !== 'charx') throw new AppError('validation', 'Card format must be json, png or charx.');
        if (options.cardVersion !== '2' && options.cardVersion !== '3') throw new AppError('validation', '--card-version must be 2 or 3.');
        if (options.format !== 'json' && !options.out) throw new AppError('validation', `A ${options.format.toUpperCase()} card needs --out FILE.`);
        const { exportCharacterCard } = await import('../../io/index.js');
        const exported = await exportCharacterCard(runtime.db, storyId, characterId, { format: options.format, version: Number(options.cardVersion) as 2 | 3 });
        if (options.out) fs.writeFileSync(options.out, exported.content);
        else process.stdout.write(`${exported.content as string}\n`);
      }),
    );
}
