import { AppError, isAppError } from '../errors.js';
import type { EngineRuntime } from '../runtime.js';
import { getStory, getPathTo } from '../story/story-repo.js';
import { getSceneView, type SceneView } from '../story/scene-view.js';
import { rewindStory } from '../story/rewind-story.js';
import { listStoryCharacters, sceneThoughts } from '../characters/character-views.js';
import { talkToCharacter } from '../characters/talk-to-character.js';
import type { LineReader } from './line-reader.js';
import { formatCharacterLine, renderScene, style, wrap, wrapBeside } from './format.js';
import { runTurnInTerminal } from './run-turn.js';

const help = `Commands:
  N                  take choice N            N (instruction)   take choice N, with an instruction
  regen              write the scene again    undo              go back one scene
  rewind N           go back to scene N       characters        who is in the story
  talk NAME: text    talk to a character      thoughts on|off   show characters' private thoughts
  help               this list                quit              back to the menu`;

async function showThoughts(runtime: EngineRuntime, scene: SceneView): Promise<void> {
  const thoughts = await sceneThoughts(runtime.db, scene.storyId, scene.id);
  for (const thought of thoughts) process.stdout.write(style.dim(wrap(`(${thought.name} thinks: ${thought.content})`)) + '\n');
  if (thoughts.length > 0) process.stdout.write('\n');
}

/** The interactive loop for one story. Returns when the player quits or input ends. */
export async function playStory(runtime: EngineRuntime, reader: LineReader, storyId: string, options: { openingShown?: boolean } = {}): Promise<void> {
  const story = await getStory(runtime.db, storyId);
  const out = process.stdout;
  if (!options.openingShown) out.write(`\n${style.bold(story.title)}  ${style.dim(`[${runtime.providerDescription}]`)}\n`);
  let head: SceneView | undefined;
  if (story.headSceneId) {
    head = await getSceneView(runtime.db, storyId, story.headSceneId);
    if (!options.openingShown) out.write(`\n${renderScene(head)}\n\n`);
  } else {
    head = await runTurnInTerminal(runtime, reader, { storyId, kind: 'open' });
  }
  let thoughtsOn = false;
  out.write(style.dim(`${wrap("Type a choice number, optionally with an instruction in parentheses: 2 (ask her name). 'help' lists commands.")}\n`));

  for (;;) {
    const line = await reader.ask(style.cyan('> '));
    if (line === null) return;
    const input = line.trim();
    if (input === '') continue;
    try {
      const choice = /^(\d+)\s*(?:\((.*)\))?\s*$/s.exec(input);
      if (choice) {
        const next = await runTurnInTerminal(runtime, reader, {
          storyId,
          kind: 'advance',
          choiceNumber: Number(choice[1]),
          instruction: choice[2]?.trim() || undefined,
          fromSceneId: head?.id,
        });
        if (next) {
          head = next;
          if (thoughtsOn) await showThoughts(runtime, head);
        }
        continue;
      }
      const [command = '', ...rest] = input.split(/\s+/);
      const argument = input.slice(command.length).trim();
      switch (command.toLowerCase()) {
        case 'quit':
        case 'exit':
        case 'q':
          return;
        case 'help':
        case '?':
          out.write(`${help}\n`);
          break;
        case 'regen':
        case 'regenerate': {
          const next = await runTurnInTerminal(runtime, reader, { storyId, kind: 'regenerate', fromSceneId: head?.id });
          if (next) head = next;
          break;
        }
        case 'undo': {
          const result = await rewindStory(runtime.deps, storyId, { undo: true });
          head = result.scene;
          out.write(`\n${renderScene(head)}\n\n`);
          break;
        }
        case 'rewind': {
          const number = Number(rest[0]);
          if (!head || !Number.isInteger(number) || number < 1 || number > head.sceneNumber) {
            throw new AppError('validation', `Give a scene number from 1 to ${head?.sceneNumber ?? 1}: rewind 2`);
          }
          const path = await getPathTo(runtime.db, storyId, head.id);
          const target = path.find((scene) => scene.sceneNumber === number)!;
          head = (await rewindStory(runtime.deps, storyId, { toSceneId: target.id })).scene;
          out.write(`\n${renderScene(head)}\n\n`);
          break;
        }
        case 'thoughts': {
          const value = rest[0]?.toLowerCase();
          if (value !== 'on' && value !== 'off') throw new AppError('validation', "Say 'thoughts on' or 'thoughts off'.");
          thoughtsOn = value === 'on';
          out.write(style.dim(`Thoughts ${value}.\n`));
          if (thoughtsOn && head) await showThoughts(runtime, head);
          break;
        }
        case 'characters': {
          const characters = await listStoryCharacters(runtime.db, storyId);
          if (characters.length === 0) out.write('Nobody has been named yet.\n');
          for (const c of characters) out.write(`${formatCharacterLine(c, story.playerName)}\n`);
          break;
        }
        case 'talk': {
          const match = /^([^:]+):\s*(.+)$/s.exec(argument);
          if (!match) throw new AppError('validation', 'Write it as: talk NAME: what you say');
          const characters = await listStoryCharacters(runtime.db, storyId);
          const wanted = match[1]!.trim().toLowerCase();
          const character = characters.find((c) => c.name.toLowerCase() === wanted) ?? characters.find((c) => c.name.toLowerCase().startsWith(wanted));
          if (!character) throw new AppError('not_found', `Nobody called ${match[1]!.trim()} in this story. Try 'characters'.`);
          const { reply } = await talkToCharacter(runtime.deps, { storyId, characterId: character.id, message: match[2]!.trim() });
          out.write(`\n${wrapBeside(`${style.bold(character.name)}: `, reply)}\n\n`);
          break;
        }
        default:
          out.write(`Unknown command '${command}'. Type a choice number or 'help'.\n`);
      }
    } catch (error) {
      if (!isAppError(error) || error.code === 'internal') throw error;
      out.write(`${style.red(error.message)}\n`);
    }
  }
}
