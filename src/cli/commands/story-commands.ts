import type { Command } from 'commander';
import { openEngineRuntime, openRuntime } from '../../runtime.js';
import { createStory } from '../../story/create-story.js';
import { takeTurn } from '../../story/take-turn.js';
import { rewindStory } from '../../story/rewind-story.js';
import { getStory, listStories } from '../../story/story-repo.js';
import { getSceneView } from '../../story/scene-view.js';
import { setStoryStatus } from '../../story/set-story-status.js';
import { listStoryCharacters } from '../../characters/character-views.js';
import { printJson } from '../output.js';
import { retryWithKey } from '../retry-with-key.js';
import { runIdempotent } from '../../idempotency/index.js';
import { renderScene, style } from '../format.js';
import { runTurnInTerminal } from '../run-turn.js';
import type { TurnRequest } from '../../story/take-turn.js';
import type { EngineRuntime } from '../../runtime.js';

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
    .description('create a story and its opening scene')
    .requiredOption('--title <title>', 'story title')
    .requiredOption('--setting <setting>', 'where and when the story happens, and who you are')
    .option('--instructions <text>', 'standing instructions for the storyteller')
    .option('--seed <n>', 'seed for the offline storyteller', (v) => Number.parseInt(v, 10))
    .option('--json', 'print JSON')
    .action(async (options: { title: string; setting: string; instructions?: string; seed?: number; json?: boolean }) => {
      await withEngine(async (runtime) => {
        const input = {
          title: options.title,
          setting: options.setting,
          ...(options.instructions ? { instructions: options.instructions } : {}),
          ...(options.seed !== undefined ? { seed: options.seed } : {}),
        };
        const { story, opening } = await retryWithKey(['new', input], (idempotency) => createStory(runtime.deps, input, { idempotency }));
        if (options.json) {
          printJson({ story, scene: opening.scene, provider: runtime.providerDescription });
        } else {
          process.stdout.write(`${style.bold(story.title)} ${style.dim(`(${story.id}) [${runtime.providerDescription}]`)}\n\n${renderScene(opening.scene)}\n`);
        }
      });
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
    .description('show a story: its current scene, choices and characters')
    .argument('<storyId>')
    .option('--json', 'print JSON')
    .action(async (storyId: string, options: { json?: boolean }) => {
      const runtime = await openRuntime();
      try {
        const story = await getStory(runtime.db, storyId);
        const head = story.headSceneId ? await getSceneView(runtime.db, storyId, story.headSceneId) : null;
        const characters = await listStoryCharacters(runtime.db, storyId);
        if (options.json) {
          printJson({ story, scene: head, characters });
          return;
        }
        process.stdout.write(`${style.bold(story.title)} ${style.dim(`(${story.id}, version ${story.version}, ${story.status})`)}\n${style.dim(story.setting)}\n\n`);
        process.stdout.write(head ? `${renderScene(head)}\n` : 'No scene yet.\n');
        if (characters.length > 0) process.stdout.write(`\nCharacters: ${characters.map((c) => `${c.name} (${c.mood})`).join(', ')}\n`);
      } finally {
        await runtime.close();
      }
    });
}
