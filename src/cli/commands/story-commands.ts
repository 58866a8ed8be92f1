import type { Command } from 'commander';
import { openEngineRuntime, openRuntime } from '../../runtime.js';
import fs from 'node:fs';
import { checkPlayerName } from '../../io/check-player-name.js';
import { setPlayerName } from '../../story/story-repo.js';
import { AppError } from '../../errors.js';
import { rewindStory } from '../../story/rewind-story.js';
import { getPathTo, getStory, listStories } from '../../story/story-repo.js';
import { describeFacts, loadFactsAt, readRelationshipsAt, resolveSceneInStory } from '../../world/index.js';
import { listCharacterReflections } from '../../memory/memory-repo.js';
import type { Queryable } from '../../db/index.js';
import { getSceneView } from '../../story/scene-view.js';
import { setStoryStatus } from '../../story/set-story-status.js';
import { deleteStory } from '../../story/delete-story.js';
import { confirm } from '../confirm.js';
import { listStoryCharacters } from '../../characters/character-views.js';
import { printJson } from '../output.js';
import { retryWithKey } from '../retry-with-key.js';
import { runIdempotent } from '../../idempotency/index.js';
import { formatCharacterLine, renderScene, style } from '../format.js';
import type { TurnRequest } from '../../story/take-turn.js';
import type { EngineRuntime } from '../../runtime.js';

// The turn engine, model clients and card codecs are imported inside the actions that use them:
// a command that only reads the database (`list`, `show`) starts without them.

async function withEngine<T>(fn: (runtime: EngineRuntime) => Promise<T>): Promise<T> {
  const runtime = await openEngineRuntime();
  try {
    return await fn(runtime);
  } finally {
    await runtime.close();
  }
}

/** One turn from the command line: JSON, or the scene streamed to the terminal. */
async function turnCommand(request: Omit<TurnRequest, 'signal' | 'onText'>, json: boolean): Promise<void> {
  const [{ takeTurn }, { runTurnInTerminal }] = await Promise.all([import('../../story/take-turn.js'), import('../run-turn.js')]);
  await withEngine(async (runtime) => {
    if (json) {
      const result = await retryWithKey([request], (claim) => takeTurn(runtime.deps, { ...request, idempotencyKey: request.idempotencyKey ?? claim.key }), {
        ...(typeof request.idempotencyKey === 'string' ? { key: request.idempotencyKey } : {}),
      });
      printJson({ scene: result.scene, turnId: result.turnId, how: result.how, provider: runtime.providerDescription });
      return;
    }
    const scene = await runTurnInTerminal(runtime, undefined, request);
    if (!scene) process.exitCode = 130;
  });
}

export function registerStoryCommands(program: Command): void {
  program
    .command('new')
    .description('create a story and its opening scene (from --title and --setting, or from a character card)')
    .option('--title <title>', 'story title')
    .option('--setting <setting>', 'where and when the story happens, and who you are')
    .option('--card <file>', 'a character card (V1/V2/V3 JSON, PNG or CHARX): its greeting opens the story')
    .option('--player <name>', 'your name in the story ({{user}}); default "you"')
    .option('--instructions <text>', 'standing instructions for the storyteller')
    .option('--seed <n>', 'seed for the offline storyteller', (v) => Number.parseInt(v, 10))
    .option('--json', 'print JSON')
    .action(
      async (
        options: { title?: string; setting?: string; card?: string; player?: string; instructions?: string; seed?: number; json?: boolean },
        command: Command,
      ) => {
        // A usage error like commander's own: "error: …", the command's help, exit 2.
        if (options.card === undefined && (options.title === undefined || options.setting === undefined)) {
          command.error('error: give --title and --setting, or --card FILE to start from a character card');
        }
        if (options.card !== undefined && !fs.existsSync(options.card)) throw new AppError('not_found', `Cannot read ${options.card}: no such file.`);
        const playerName = options.player === undefined ? undefined : checkPlayerName(options.player);
        const [{ createStory }, { createStoryFromCard }] = await Promise.all([import('../../story/create-story.js'), import('../../io/create-story-from-card.js')]);
        await withEngine(async (runtime) => {
          const fromCard = options.card !== undefined ? await createStoryFromCard(runtime.deps, fs.readFileSync(options.card), playerName ? { playerName } : {}) : undefined;
          const { story, opening } =
            fromCard ??
            (await (async () => {
              const input = {
                title: options.title!,
                setting: options.setting!,
                ...(options.instructions ? { instructions: options.instructions } : {}),
                ...(options.seed !== undefined ? { seed: options.seed } : {}),
                ...(playerName ? { playerName } : {}),
              };
              return retryWithKey(['new', input], (idempotency) => createStory(runtime.deps, input, { idempotency }));
            })());
          if (options.json) {
            printJson({
              story,
              scene: opening.scene,
              provider: runtime.providerDescription,
              ...(fromCard ? { characterId: fromCard.characterId, loreEntryIds: fromCard.loreEntryIds, warnings: fromCard.warnings } : {}),
            });
          } else {
            process.stdout.write(`${style.bold(story.title)} ${style.dim(`(${story.id}) [${runtime.providerDescription}]`)}\n\n${renderScene(opening.scene)}\n`);
            for (const warning of fromCard?.warnings ?? []) process.stderr.write(`warning: ${warning}\n`);
          }
        });
      },
    );

  program
    .command('player')
    .description("set the player's name in a story ({{user}} in cards and lore)")
    .argument('<storyId>')
    .argument('<name>', 'the name, or "you" for the second person')
    .option('--json', 'print JSON')
    .action(async (storyId: string, name: string, options: { json?: boolean }) => {
      const runtime = await openRuntime();
      try {
        const story = await setPlayerName(runtime.db, storyId, checkPlayerName(name));
        if (options.json) printJson({ story });
        else process.stdout.write(`The player is now ${story.playerName}.\n`);
      } finally {
        await runtime.close();
      }
    });

  program
    .command('advance')
    .description('take one turn: pick a choice of the current scene')
    .argument('<storyId>')
    .argument('<choice>', 'choice number')
    .option('--instruction <text>', 'an instruction for this turn, e.g. "ask her name"')
    .option('--from <sceneId>', 'refuse if the story has moved on from this scene')
    .option('--idempotency-key <key>', 'repeat-safe key: the same key returns the same scene')
    .option('--json', 'print JSON')
    .action(async (storyId: string, choice: string, options: { instruction?: string; from?: string; idempotencyKey?: string; json?: boolean }) => {
      await turnCommand(
        {
          storyId,
          kind: 'advance',
          choiceNumber: choice,
          instruction: options.instruction,
          fromSceneId: options.from,
          idempotencyKey: options.idempotencyKey,
        },
        Boolean(options.json),
      );
    });

  program
    .command('regenerate')
    .description('write the current scene again (the old one stays in the tree)')
    .argument('<storyId>')
    .option('--json', 'print JSON')
    .action(async (storyId: string, options: { json?: boolean }) => {
      await turnCommand({ storyId, kind: 'regenerate' }, Boolean(options.json));
    });

  program
    .command('rewind')
    .description('move the story head to another scene of its tree (nothing is deleted)')
    .argument('<storyId>')
    .argument('[sceneId]', 'the scene to go back to; omitted: one scene back')
    .option('--json', 'print JSON')
    .action(async (storyId: string, sceneId: string | undefined, options: { json?: boolean }) => {
      const runtime = await openRuntime();
      try {
        const target = sceneId ? { toSceneId: sceneId } : { undo: true as const };
        const result = await retryWithKey(['rewind', storyId, target], (claim) =>
          runIdempotent(runtime.db, claim, () => rewindStory({ db: runtime.db }, storyId, target, undefined, claim)),
        );
        if (options.json) printJson(result);
        else process.stdout.write(`${renderScene(result.scene)}\n`);
      } finally {
        await runtime.close();
      }
    });

  for (const [command, status] of [
    ['archive', 'archived'],
    ['unarchive', 'active'],
  ] as const) {
    program
      .command(command)
      .description(status === 'archived' ? 'archive a story: it stays readable and exportable, but cannot be played' : 'make an archived story playable again')
      .argument('<storyId>')
      .action(async (storyId: string) => {
        const runtime = await openRuntime();
        try {
          await setStoryStatus(runtime.db, storyId, status);
          process.stdout.write(`Story ${storyId} is ${status}.\n`);
        } finally {
          await runtime.close();
        }
      });
  }

  program
    .command('delete')
    .description('delete a story and everything in it (asks first; archive keeps it instead)')
    .argument('<storyId>')
    .option('--yes', 'do not ask')
    .action(async (storyId: string, options: { yes?: boolean }) => {
      const runtime = await openRuntime();
      try {
        const story = await getStory(runtime.db, storyId);
        if (!(await confirm(`Delete "${story.title}" (${story.id}) and all its scenes? This cannot be undone.`, options))) {
          process.stdout.write('Nothing was deleted.\n');
          return;
        }
        await deleteStory(runtime.db, storyId);
        process.stdout.write(`Deleted "${story.title}" (${story.id}).\n`);
      } finally {
        await runtime.close();
      }
    });

  program
    .command('list')
    .description('list stories')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const runtime = await openRuntime();
      try {
        const stories = await listStories(runtime.db, { limit: 1000 });
        if (options.json) {
          printJson({ stories });
          return;
        }
        if (stories.length === 0) process.stdout.write("No stories yet. Create one with 'livingworld new' or 'livingworld'.\n");
        for (const s of stories) process.stdout.write(`${s.id}  ${s.title}  ${style.dim(`scene ${s.headSceneNumber ?? 0} · ${s.status}`)}\n`);
      } finally {
        await runtime.close();
      }
    });

  program
    .command('show')
    .description('show a story: its current scene, choices and characters (--at: the world as of another scene)')
    .argument('<storyId>')
    .option('--at <scene>', 'a scene id, or a scene number on the current path')
    .option('--json', 'print JSON')
    .action(async (storyId: string, options: { json?: boolean; at?: string }) => {
      const runtime = await openRuntime();
      try {
        const story = await getStory(runtime.db, storyId);
        const atSceneId = await sceneOption(runtime.db, storyId, story.headSceneId, options.at);
        const scene = atSceneId ? await getSceneView(runtime.db, storyId, atSceneId) : null;
        const characters = await listStoryCharacters(runtime.db, storyId, { atSceneId });
        const facts = atSceneId ? await loadFactsAt(runtime.db, storyId, atSceneId) : [];
        const reflections = (
          await Promise.all(
            characters.map(async (c) => (await listCharacterReflections(runtime.db, { storyId, characterId: c.id, atSceneId, limit: 5 })).map((r) => ({ character: c.name, ...r }))),
          )
        ).flat();
        if (options.json) {
          printJson({ story, scene, atSceneId, characters, facts, reflections });
          return;
        }
        process.stdout.write(`${style.bold(story.title)} ${style.dim(`(${story.id}, version ${story.version}, ${story.status})`)}\n${style.dim(story.setting)}\n\n`);
        process.stdout.write(scene ? `${renderScene(scene)}\n` : 'No scene yet.\n');
        if (characters.length > 0) process.stdout.write(`\nCharacters: ${characters.map((c) => `${c.name} (${c.mood})`).join(', ')}\n`);
        if (facts.length > 0) process.stdout.write(`\nWhat is true now:\n${describeFacts(facts).map((line) => `  ${line}\n`).join('')}`);
        if (reflections.length > 0) {
          process.stdout.write(`\nReflections:\n${reflections.map((r) => `  ${r.character}: ${r.content} ${style.dim(`(from ${r.evidence.length} memories)`)}\n`).join('')}`);
        }
      } finally {
        await runtime.close();
      }
    });

  program
    .command('characters')
    .description("a story's characters as the world stands at the head (--at: at another scene)")
    .argument('<storyId>')
    .option('--at <scene>', 'a scene id, or a scene number on the current path')
    .option('--json', 'print JSON')
    .action(async (storyId: string, options: { json?: boolean; at?: string }) => {
      const runtime = await openRuntime();
      try {
        const story = await getStory(runtime.db, storyId);
        const atSceneId = await sceneOption(runtime.db, storyId, story.headSceneId, options.at);
        const characters = await listStoryCharacters(runtime.db, storyId, { atSceneId });
        const relationships = await readRelationshipsAt(runtime.db, storyId, atSceneId);
        if (options.json) {
          printJson({ atSceneId, characters, relationships });
          return;
        }
        if (characters.length === 0) process.stdout.write('Nobody has been named yet at this scene.\n');
        for (const c of characters) process.stdout.write(`${formatCharacterLine(c, story.playerName)}\n`);
      } finally {
        await runtime.close();
      }
    });
}

/** `--at`: a scene id of the story, or a scene number on the path to the head. */
async function sceneOption(db: Queryable, storyId: string, headSceneId: string | null, at: string | undefined): Promise<string | null> {
  if (at === undefined) return headSceneId;
  if (/^\d{1,9}$/.test(at)) {
    const path = headSceneId ? await getPathTo(db, storyId, headSceneId) : [];
    const scene = path.find((candidate) => candidate.sceneNumber === Number(at));
    if (!scene) throw new AppError('not_found', `No scene ${at} on the story's current path (it has ${path.length}); pass a scene id for another branch.`);
    return scene.id;
  }
  return resolveSceneInStory(db, storyId, at);
}
