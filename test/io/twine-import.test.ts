import fs from 'node:fs';
import path from 'node:path';
import { readTwinePassage } from '../../src/io/read-twine-passage.js';
import { parseTwee } from 'extwee';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/index.js';
import { exportStoryArchive, exportStoryTwee, importStoryFile, type StoryArchive } from '../../src/io/index.js';
import { takeTurn } from '../../src/story/take-turn.js';
import { getStory } from '../../src/story/story-repo.js';
import { createCountingProvider } from '../helpers/counting-provider.js';
import { createServerTestDatabase, type TestServerDatabase } from '../helpers/db.js';
import { createTestEngine } from '../helpers/engine.js';
import { countRows } from './builders.js';
import { harloweLinks, harloweShownText, onlyInertOutsideVerbatim, twineEditorLinkTargets } from './harlowe-reading.js';

const fixtures = path.resolve('test/fixtures/io/twine');
const lighthouse = fs.readFileSync(path.join(fixtures, 'lighthouse.twee'), 'utf8');
const library = fs.readFileSync(path.join(fixtures, 'ferry-library.html'), 'utf8');
const published = fs.readFileSync(path.join(fixtures, 'ferry-published.html'), 'utf8');

const passageOf = (scene: StoryArchive['scenes'][number]) => (scene.metadata as Record<string, string>)['twine_passage'];

/** Each scene's passages from the root, by walking parents. */
function passagePaths(archive: StoryArchive): string[][] {
  const byId = new Map(archive.scenes.map((s) => [s.id, s]));
  return archive.scenes.map((scene) => {
    const names: string[] = [];
    for (let at: typeof scene | undefined = scene; at; at = at.parent_id ? byId.get(at.parent_id) : undefined) names.unshift(passageOf(at)!);
    return names;
  });
}

describe('Twine import', () => {
  let server: TestServerDatabase;
  let db: Database;
  beforeAll(async () => {
    server = await createServerTestDatabase({ poolSize: 6 });
    db = server.db;
  });
  afterAll(async () => server.drop());

  it('unfolds a 20-passage Twee 3 story with cycles into a scene tree, each passage once on any path', async () => {
    expect(lighthouse.split('\n').filter((line) => line.startsWith('::')).length - 2).toBe(20);
    const result = await importStoryFile(db, lighthouse, 'lighthouse.twee');
    expect(result.format).toBe('twee');
    const archive = await exportStoryArchive(db, result.storyId);
    expect(archive.story.title).toBe('The Lighthouse at Vell');
    const root = archive.scenes.find((s) => s.parent_id === null)!;
    expect(archive.story.head_scene_id).toBe(root.id);
    expect(passageOf(root)).toBe('Start');
    // Markup is gone from the prose, text inside hooks and verbatim stays.
    expect(root.content).toBe("Fog rolls in over the breakwater as your boat noses into the harbour of ''Vell''.\nA woman waits on the quay, lantern raised.");
    expect(root.choices.map((c) => c.content)).toEqual(['Climb onto the quay', 'Look for a warm tavern']);
    const tavern = archive.scenes.find((s) => passageOf(s) === 'Tavern')!;
    expect(tavern.content).toBe('The tavern smells of tar & smoke. A (not a macro) sign hangs over the bar.');
    const quay = archive.scenes.find((s) => passageOf(s) === 'Quay' && s.parent_id === root.id)!;
    // An inline link leaves its text in the sentence; it is a choice too.
    expect(quay.content).toContain('You can see the breakwater from here.');
    // Of the (if:)/(else:) chain the reader gets one branch: $lamp cannot be decided on import, so the first.
    expect(quay.content).toContain('The lamp is lit.');
    expect(quay.content).not.toContain('The lamp is dark.');
    expect(quay.choices.map((c) => c.content)).toEqual(['breakwater', 'Try the boathouse', 'Go back to the boat']);

    const paths = passagePaths(archive);
    for (const names of paths) expect(new Set(names).size, names.join(' → ')).toBe(names.length);
    const reached = new Set(paths.flat());
    expect(reached).toEqual(new Set(['Start', 'Quay', 'Tavern', 'Breakwater', 'Boathouse', 'Cellar', 'Tunnel', 'Lighthouse', 'Fog', 'Skiff', 'Open Sea', 'Lamp Room', 'Keeper', 'Notebook', 'Drowned Bell', 'Ending Light', 'Ending Sea']));
    // The link back to Start (on the path) and the broken link have no scene: the storyteller writes them.
    const children = (id: string) => archive.scenes.filter((s) => s.parent_id === id);
    expect(children(quay.id).map((s) => [s.choice_number, passageOf(s)])).toEqual([
      [1, 'Breakwater'],
      [2, 'Boathouse'],
    ]);
    const lighthouseScene = archive.scenes.find((s) => passageOf(s) === 'Lighthouse')!;
    expect(lighthouseScene.choices[2]!.content).toBe('Look for a way that is not there');
    expect(children(lighthouseScene.id).some((s) => s.choice_number === 3)).toBe(false);
    // (link-goto:) is a link too.
    const keeper = archive.scenes.find((s) => passageOf(s) === 'Keeper')!;
    expect(keeper.choices.map((c) => c.content)).toEqual(['Wake him and climb up', 'Read the notebook']);
    // An ending offers Continue, which the storyteller writes.
    expect(archive.scenes.find((s) => passageOf(s) === 'Ending Light')!.choices.map((c) => c.content)).toEqual(['Continue']);

    expect(result.notCarriedOver).toEqual([
      'macros (removed from the prose; the storyteller does not run them): set ×2, if ×1, else ×1, note ×1',
      'conditional text: of each (if:)/(else-if:)/(else:) chain the scene keeps the first branch whose condition holds or cannot be decided on import; dropped: "Quay": "The lamp is dark."',
      'scripts: passages tagged script ("Story JavaScript"); 1 <script> element(s) in passages',
      'styles: passages tagged stylesheet ("Story Stylesheet")',
      'passages not reachable from the start "Start": "Attic"',
      'links to passages the story does not have (left for the storyteller): "Lighthouse → Cistern"',
    ]);
  });

  it('reads a Twine 2 library (the first story) and a published story the same way', async () => {
    const fromLibrary = await importStoryFile(db, library, 'library.html');
    const fromPage = await importStoryFile(db, Buffer.from(published), 'ferry.html');
    expect(fromLibrary.format).toBe('twine-html');
    expect(fromLibrary.notCarriedOver).toEqual([
      'macros (removed from the prose; the storyteller does not run them): set ×1',
      'scripts: the story JavaScript',
      'styles: the story stylesheet',
      'other stories in the library file (import each on its own): "Second Story"',
    ]);
    expect(fromPage.notCarriedOver).toEqual(fromLibrary.notCarriedOver.slice(0, 3));
    const a = await exportStoryArchive(db, fromLibrary.storyId);
    const b = await exportStoryArchive(db, fromPage.storyId);
    expect(a.story.title).toBe('The Ferry & the Island');
    const shape = (archive: StoryArchive) => archive.scenes.map((s) => [s.scene_number, s.choice_number, passageOf(s), s.content, s.choices.map((c) => c.content)]);
    expect(shape(b)).toEqual(shape(a));
    // startnode="2" is Dock; HTML escapes are undone once, the <b> tag is removed.
    expect(shape(a)).toEqual([
      [1, null, 'Dock', "The ferry's horn sounds across the water.", ['Board the ferry', 'Ask at the office']],
      [2, 1, 'Ferry', 'The deck tilts under you. Gulls follow the wake.', ['Stay aboard to the island', 'Jump back onto the dock']],
      [2, 2, 'Office', 'The ticket office is shut. A sign reads "Back at 5 & not before".', ['Return to the dock', 'Board anyway']],
      [3, 1, 'Island', 'The island is smaller than it looked, and someone is waiting.', ['Continue']],
      [3, 2, 'Ferry', 'The deck tilts under you. Gulls follow the wake.', ['Stay aboard to the island', 'Jump back onto the dock']],
      [4, 1, 'Island', 'The island is smaller than it looked, and someone is waiting.', ['Continue']],
    ]);
  });

  it('refuses a file that is not a Twine story, writing nothing', async () => {
    const before = await countRows(db);
    await expect(importStoryFile(db, '<html><body>hello</body></html>', 'page.html')).rejects.toMatchObject({ code: 'validation', message: expect.stringMatching(/no <tw-storydata> element/) });
    await expect(importStoryFile(db, ':: StoryData\n{"start": "Nowhere"}\n', 'x.twee')).rejects.toMatchObject({ code: 'validation', message: expect.stringMatching(/start "Nowhere": names a passage/) });
    expect(await countRows(db)).toEqual(before);
  });

  it('takes imported choices without a model call; the storyteller writes only where the story has no passage', async () => {
    const { storyId } = await importStoryFile(db, lighthouse, 'lighthouse.twee');
    const provider = createCountingProvider({ latencyMs: 5 });
    const engine = createTestEngine(db, provider);
    const walk = [
      [1, 'Quay'],
      [1, 'Breakwater'],
      [1, 'Lighthouse'],
      [2, 'Keeper'],
      [2, 'Notebook'],
      [1, 'Lamp Room'],
      [1, 'Ending Light'],
    ] as const;
    const archiveBefore = await exportStoryArchive(db, storyId);
    const prose = new Map(archiveBefore.scenes.map((s) => [passageOf(s)!, s.content]));
    let version = (await getStory(db, storyId)).version;
    for (const [choice, passage] of walk) {
      const result = await takeTurn(engine, { storyId, kind: 'advance', choiceNumber: choice });
      expect(result.how).toBe('followed');
      expect(result.scene.content).toBe(prose.get(passage));
      const story = await getStory(db, storyId);
      expect(story.headSceneId).toBe(result.scene.id);
      expect(story.version).toBe(++version);
    }
    expect(provider.calls).toBe(0);
    const { rows: turns } = await db.query<{ status: string; model_calls: number }>('SELECT status, model_calls FROM turns WHERE story_id = $1', [storyId]);
    expect(turns).toHaveLength(walk.length);
    expect(turns.every((t) => t.status === 'succeeded' && t.model_calls === 0)).toBe(true);
    // The taken choices are marked, as for generated scenes; no scene was added.
    const after = await exportStoryArchive(db, storyId);
    expect(after.scenes).toHaveLength(archiveBefore.scenes.length);
    expect(after.scenes.find((s) => s.id === after.story.head_scene_id)!.scene_number).toBe(walk.length + 1);

    // The ending has no passage after it: the storyteller writes it (one call).
    const written = await takeTurn(engine, { storyId, kind: 'advance', choiceNumber: 1 });
    expect(written.how).toBe('generated');
    expect(provider.calls).toBe(1);
    expect(written.scene.content).toMatch(/^Call 1: you continue/);
  });

  it('leaves a cycle back, and a choice with an instruction, to the storyteller', async () => {
    const { storyId } = await importStoryFile(db, lighthouse, 'lighthouse.twee');
    const provider = createCountingProvider({ latencyMs: 5 });
    const engine = createTestEngine(db, provider);
    expect((await takeTurn(engine, { storyId, kind: 'advance', choiceNumber: 1 })).how).toBe('followed');
    // Quay's third link goes back to Start, which is already on the path.
    const back = await takeTurn(engine, { storyId, kind: 'advance', choiceNumber: 3 });
    expect(back.how).toBe('generated');
    expect(back.scene.content).toMatch(/^Call 1: you go back to the boat/);
    const other = (await importStoryFile(db, lighthouse, 'lighthouse.twee')).storyId;
    const instructed = await takeTurn(engine, { storyId: other, kind: 'advance', choiceNumber: 1, instruction: 'slip on the stones' });
    expect(instructed.how).toBe('generated');
    expect(provider.calls).toBe(2);
  });

  it('answers a retried or duplicated follow with the same scene and one turn', async () => {
    const { storyId } = await importStoryFile(db, lighthouse, 'lighthouse.twee');
    const provider = createCountingProvider({ latencyMs: 5 });
    const engine = createTestEngine(db, provider);
    const root = (await getStory(db, storyId)).headSceneId!;
    const [a, b] = await Promise.all([
      takeTurn(engine, { storyId, kind: 'advance', choiceNumber: 2, fromSceneId: root, idempotencyKey: 'k-1' }),
      takeTurn(engine, { storyId, kind: 'advance', choiceNumber: 2, fromSceneId: root }),
    ]);
    expect(a.scene.id).toBe(b.scene.id);
    expect([a.how, b.how].sort()).toEqual(['followed', 'replayed']);
    const retried = await takeTurn(engine, { storyId, kind: 'advance', choiceNumber: 2, fromSceneId: root, idempotencyKey: 'k-1' });
    expect(retried).toMatchObject({ how: 'replayed', turnId: a.turnId });
    expect(retried.scene.id).toBe(a.scene.id);
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM turns WHERE story_id = $1', [storyId]);
    expect(rows[0]!.n).toBe(1);
    expect(provider.calls).toBe(0);
  });

  it('exports the imported story as Twee that extwee reads, with every link resolving for Harlowe and Twine', async () => {
    const { storyId } = await importStoryFile(db, lighthouse, 'lighthouse.twee');
    const twee = await exportStoryTwee(db, storyId);
    const story = parseTwee(twee);
    expect(story.name).toBe('The Lighthouse at Vell');
    const names = new Set(story.passages.map((p) => p.name));
    expect(names.has(story.start)).toBe(true);
    let links = 0;
    for (const passage of story.passages) {
      const harlowe = harloweLinks(passage.text);
      expect(twineEditorLinkTargets(passage.text)).toEqual(harlowe.map((l) => l.passage));
      for (const link of harlowe) {
        expect(names.has(link.passage), `${passage.name} → ${link.passage}`).toBe(true);
        links++;
      }
      // Outside the links, nothing can run as markup.
      expect(onlyInertOutsideVerbatim(passage.text.replace(/\[\[(?!\[)[^\]]*->[^\]]*\]\]/g, '')), passage.name).toBe(true);
    }
    const archive = await exportStoryArchive(db, storyId);
    expect(links).toBeGreaterThanOrEqual(archive.scenes.reduce((sum, s) => sum + s.choices.length, 0));
    // Re-importing our own export gives back the same prose.
    const again = await exportStoryArchive(db, (await importStoryFile(db, twee, 'again.twee')).storyId);
    const root = (a: StoryArchive) => a.scenes.find((s) => s.parent_id === null)!;
    expect(root(again).content).toBe(root(archive).content);
    expect(harloweShownText(story.getPassageByName(story.start)!.text.split('\n\n')[0]!)).toBe(root(archive).content);
  });
});

describe('Harlowe conditionals in an imported passage', () => {
  const read = (source: string) => readTwinePassage(source, 'harlowe');

  it('keeps the first branch whose condition holds or cannot be decided, and lists the rest', () => {
    expect(read('(if: $x)[A.](else:)[B.]')).toMatchObject({ prose: 'A.', droppedBranches: ['B.'] });
    expect(read('(if: false)[A.](else-if: $y > 2)[B.](else:)[C.]')).toMatchObject({ prose: 'B.', droppedBranches: ['A.', 'C.'] });
    expect(read('(if: false)[A.] (else-if: not true)[B.] (else:)[C.]').prose).toBe('C.');
    expect(read('(if: true)[A.](else:)[B.]')).toMatchObject({ prose: 'A.', droppedBranches: ['B.'] });
    expect(read('(unless: true)[A.](else:)[B.]')).toMatchObject({ prose: 'B.', droppedBranches: ['A.'] });
    expect(read('Before. (if: false)[Never.] After.').prose).toBe('Before.  After.');
    // Nested hooks stay with their branch; text around the chain is untouched.
    expect(read('The door (if: $key)[opens [slowly]](else:)[stays shut]. End.').prose).toBe('The door opens slowly. End.');
  });

  it('takes no choice from a dropped branch', () => {
    const reading = read('(if: $met)[[[Greet Hanna->Quay]]](else:)[[[Call out->Dock]]]\n[[Leave->Boat]]');
    expect(reading.links.map((link) => link.target)).toEqual(['Quay', 'Boat']);
    expect(reading.droppedBranches).toEqual(['Call out']);
  });

  it('leaves hooks of other macros as text', () => {
    expect(read('(link: "Open")[The box is empty.]').prose).toBe('The box is empty.');
    expect(read('(either: "a", "b") and (set: $x to 1)[kept]').droppedBranches).toEqual([]);
  });
});

