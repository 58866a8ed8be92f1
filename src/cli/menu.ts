import fs from 'node:fs';
import { AppError, isAppError } from '../errors.js';
import type { EngineRuntime } from '../runtime.js';
import { listStories } from '../story/story-repo.js';
import { createStory } from '../story/create-story.js';
import { describeImport, exportStoryAs, importStoryFromFile } from './story-files.js';
import type { LineReader } from './line-reader.js';
import { playStory } from './play.js';
import { renderScene, style } from './format.js';

async function chooseStory(runtime: EngineRuntime, reader: LineReader, verb: string): Promise<string | undefined> {
  const stories = await listStories(runtime.db, { limit: 30 });
  if (stories.length === 0) {
    process.stdout.write('No stories yet.\n');
    return undefined;
  }
  stories.forEach((s, i) => process.stdout.write(`  ${i + 1}) ${s.title} ${style.dim(`(scene ${s.headSceneNumber ?? 0}, ${s.status})`)}\n`));
  const answer = await reader.ask(`Story to ${verb} (number, empty to go back): `);
  if (!answer?.trim()) return undefined;
  const story = stories[Number(answer.trim()) - 1];
  if (!story) throw new AppError('validation', `There is no story ${answer.trim()} in the list.`);
  return story.id;
}

async function askRequired(reader: LineReader, prompt: string): Promise<string | null> {
  for (;;) {
    const answer = await reader.ask(prompt);
    if (answer === null) return null;
    if (answer.trim()) return answer.trim();
    process.stdout.write('This one is needed.\n');
  }
}

/** The interactive main menu (`livingworld` with no command). */
export async function runMainMenu(runtime: EngineRuntime, reader: LineReader): Promise<void> {
  const out = process.stdout;
  out.write(`${style.bold('LivingWorld')}  ${style.dim(`${runtime.providerDescription} · ${runtime.db.description}`)}\n`);
  if (runtime.providerNotice) out.write(style.dim(`${runtime.providerNotice}\n`));
  for (;;) {
    out.write(`\n  1) New story\n  2) Continue a story\n  3) List stories\n  4) Export a story\n  5) Import a story\n  6) Settings\n  7) Quit\n`);
    const answer = await reader.ask(style.cyan('Choose: '));
    if (answer === null) return;
    try {
      switch (answer.trim().toLowerCase()) {
        case '1':
        case 'new': {
          const title = await askRequired(reader, 'Title: ');
          if (title === null) return;
          const setting = await askRequired(reader, 'Setting (where and when, who you are): ');
          if (setting === null) return;
          const instructions = (await reader.ask('Instructions for the storyteller (optional): '))?.trim();
          const { story, opening } = await createStory(runtime.deps, { title, setting, ...(instructions ? { instructions } : {}) });
          out.write(`\n${renderScene(opening.scene)}\n\n`);
          // The opening is shown; play continues from it.
          await playStory(runtime, reader, story.id, { openingShown: true });
          break;
        }
        case '2':
        case 'continue': {
          const id = await chooseStory(runtime, reader, 'continue');
          if (id) await playStory(runtime, reader, id);
          break;
        }
        case '3':
        case 'list': {
          const stories = await listStories(runtime.db, { limit: 100 });
          if (stories.length === 0) out.write('No stories yet.\n');
          for (const s of stories) out.write(`  ${s.title} ${style.dim(`· scene ${s.headSceneNumber ?? 0} · ${s.status} · ${s.id}`)}\n`);
          break;
        }
        case '4':
        case 'export': {
          const id = await chooseStory(runtime, reader, 'export');
          if (!id) break;
          const format = ((await reader.ask('Format (json, md, twee) [json]: '))?.trim() || 'json').toLowerCase();
          const file = (await reader.ask('File to write: '))?.trim();
          if (!file) break;
          fs.writeFileSync(file, await exportStoryAs(runtime.db, id, format));
          out.write(`Written to ${file}.\n`);
          break;
        }
        case '5':
        case 'import': {
          const file = (await reader.ask('File to import: '))?.trim();
          if (!file) break;
          const imported = await importStoryFromFile(runtime.db, file, { reader });
          out.write(imported ? `${describeImport(imported)}\n` : 'Nothing was imported.\n');
          break;
        }
        case '6':
        case 'settings':
          out.write(
            [
              `Storyteller: ${runtime.providerDescription} (LLM_PROVIDER=${runtime.config.llmProvider})`,
              `Embeddings:  ${runtime.deps.embedder.name} ${runtime.deps.embedder.model} (EMBEDDINGS_PROVIDER)`,
              `Database:    ${runtime.db.description} (DATABASE_URL, LIVINGWORLD_DATA_DIR)`,
              'Change these with the environment variables in parentheses; see the README.',
            ].join('\n') + '\n',
          );
          break;
        case '7':
        case 'quit':
        case 'q':
        case 'exit':
          return;
        default:
          out.write('Choose 1–7.\n');
      }
    } catch (error) {
      if (!isAppError(error) || error.code === 'internal') throw error;
      out.write(`${style.red(error.message)}\n`);
    }
  }
}
