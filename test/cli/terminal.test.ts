import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServerTestDatabase, type TestServerDatabase } from '../helpers/db.js';
import { PtyCli } from '../helpers/pty-cli.js';
import { runCli } from '../helpers/cli.js';
import { getPathTo, getStory } from '../../src/story/story-repo.js';

let database: TestServerDatabase;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  database = await createServerTestDatabase();
  env = { DATABASE_URL: database.url, LLM_PROVIDER: 'offline', EMBEDDINGS_PROVIDER: 'offline' };
});
afterAll(async () => {
  await database.drop();
});

async function newStory(title: string): Promise<string> {
  const created = await runCli(['new', '--title', title, '--setting', 'A fishing harbour on a foggy northern coast, with a lighthouse on the point', '--json'], { env });
  expect(created.code, created.stderr).toBe(0);
  return (JSON.parse(created.stdout) as { story: { id: string } }).story.id;
}

async function storedScenes(storyId: string): Promise<string[]> {
  const story = await getStory(database.db, storyId);
  return (await getPathTo(database.db, storyId, story.headSceneId!)).map((scene) => scene.content);
}

const words = (text: string) => text.split(/\s+/).filter(Boolean);

/** Where the scene's words stand in a row on the screen, or -1. A word split across rows is two tokens and breaks the run. */
function findWordRun(screenWords: string[], sceneWords: string[]): number {
  for (let start = 0; start + sceneWords.length <= screenWords.length; start++) {
    if (sceneWords.every((word, i) => screenWords[start + i] === word)) return start;
  }
  return -1;
}

function expectEveryWordOnScreen(cli: PtyCli, scenes: string[], cols: number): void {
  const screenWords = words(cli.screenText());
  for (const [index, scene] of scenes.entries()) {
    expect(findWordRun(screenWords, words(scene)), `scene ${index + 1} at ${cols} columns is not on screen word for word:\n${scene}\n--- screen:\n${cli.screenText()}`).toBeGreaterThanOrEqual(0);
  }
}

describe('playing in a real pseudo-terminal', () => {
  it.each([60, 80, 100, 160])('at %i columns every word of every streamed scene stays on screen, none split', async (cols) => {
    const storyId = await newStory(`Terminal ${cols}`);
    const cli = new PtyCli(['play', storyId], env, { cols, rows: 30 });
    try {
      await cli.waitForScreen(/\n> $/);
      let mark = cli.type('1');
      await cli.waitForScreen(/Scene 2 ·[\s\S]*\n> $/, { from: mark });
      mark = cli.type('2 (look for the lighthouse keeper)');
      await cli.waitForScreen(/Scene 3 ·[\s\S]*\n> $/, { from: mark });
      mark = cli.type('3');
      await cli.waitForScreen(/Scene 4 ·[\s\S]*\n> $/, { from: mark });
      // Characters' descriptions wrap beside their names too (checked with the rest below).
      mark = cli.type('characters');
      await cli.waitForScreen(/trust [\s\S]*\n> $/, { from: mark });

      const scenes = await storedScenes(storyId);
      expect(scenes).toHaveLength(4);
      expectEveryWordOnScreen(cli, scenes, cols);
      // Each streamed scene stands under its own header, not above the next one's.
      const flat = cli.screenText().replace(/\s+/g, ' ');
      for (const n of [2, 3, 4]) {
        const proseStart = flat.indexOf(scenes[n - 1]!.replace(/\s+/g, ' ').split(' ').slice(0, 6).join(' '));
        expect(flat.indexOf(`Scene ${n} ·`)).toBeGreaterThanOrEqual(0);
        expect(flat.indexOf(`Scene ${n} ·`)).toBeLessThan(proseStart);
        expect(flat.indexOf(`Scene ${n} ·`, proseStart)).toBe(-1);
      }
      // The CLI wrapped every line itself: the terminal never had to break a row.
      const softWrapped = cli.screenLines().filter((line) => line.softWrapped);
      expect(softWrapped.map((line) => line.text)).toEqual([]);

      cli.type('quit');
      expect(await cli.close()).toBe(0);
    } finally {
      cli.kill();
    }
  });

  it('keeps a scene readable when the terminal is resized while it streams', async () => {
    const storyId = await newStory('Resized');
    // The scene streams over 9 s (some 90 ms a word), so that its first line is still short of
    // 60 columns when the terminal narrows to 60 even on a loaded machine: a row already past
    // the new width is cut by the terminal itself, which no later write can mend (at 3 s a
    // stall of a third of a second under the full suite let the row past 60 first).
    const cli = new PtyCli(['play', storyId], { ...env, LIVINGWORLD_OFFLINE_LATENCY_MS: '9000' }, { cols: 100, rows: 30 });
    try {
      await cli.waitForScreen(/\n> $/, { timeoutMs: 30_000 });
      const mark = cli.type('1');
      // The scene has begun, it is not finished: narrow the terminal, then widen it.
      await cli.waitForScreen(/Scene 2 ·/, { from: mark });
      const rowAtResize = cli.screenLines().at(-1)?.text ?? '';
      expect(rowAtResize.length, `the row being streamed was already ${rowAtResize.length} columns wide when the terminal narrowed to 60`).toBeLessThan(60);
      cli.resize(60, 30);
      await new Promise((resolve) => setTimeout(resolve, 700));
      cli.resize(80, 30);
      await cli.waitForScreen(/Scene 2 ·[\s\S]*\n> $/, { from: mark });

      const scenes = await storedScenes(storyId);
      expect(scenes).toHaveLength(2);
      expectEveryWordOnScreen(cli, scenes, 60);
      // Readline must not redraw its prompt into the middle of the prose on resize.
      const afterTurn = cli.screenText().slice(mark);
      expect(afterTurn.match(/^> /gm) ?? []).toHaveLength(1);

      cli.type('quit');
      expect(await cli.close()).toBe(0);
    } finally {
      cli.kill();
    }
  });
});
