import { parseTwee } from 'extwee';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/index.js';
import { encodeHarloweLinkText, encodeHarloweProse, escapeTweeHeaderText, exportStoryArchive, exportStoryMarkdown, exportStoryTwee, importStoryFile, storyIfid } from '../../src/io/index.js';
import { harloweLinks, harloweShownText, onlyInertOutsideVerbatim, twineEditorLinkTargets } from './harlowe-reading.js';
import { createEmbeddedTestDatabase } from '../helpers/db.js';
import { insertBranchingStory } from './builders.js';

/** Harlowe's link forms; for `->` the rightmost arrow separates text from target. */
function linkTarget(inner: string): string {
  const arrow = inner.lastIndexOf('->');
  if (arrow !== -1) return inner.slice(arrow + 2);
  const back = inner.indexOf('<-');
  if (back !== -1) return inner.slice(0, back);
  const bar = inner.lastIndexOf('|');
  return bar === -1 ? inner : inner.slice(bar + 1);
}

const linksOf = (text: string) => [...text.matchAll(/\[\[(.*?)\]\]/g)].map((m) => linkTarget(m[1]!));

/** A strict reading of the headers, independent of extwee: every `::` at a line start opens a passage. */
function headerNames(twee: string): string[] {
  return twee
    .split('\n')
    .filter((line) => line.startsWith('::'))
    .map((line) => line.slice(2).trim().replace(/\s*(\[[^\]]*\])?\s*(\{.*\})?$/, '').replace(/\\(.)/g, '$1'));
}

describe('Twee 3 export', () => {
  let db: Database;
  beforeAll(async () => {
    db = await createEmbeddedTestDatabase();
  });
  afterAll(async () => db.close());

  it('is parsed by extwee with every choice link resolving and a valid StoryData', async () => {
    const built = await insertBranchingStory(db, 'Twee [test] {story}');
    const twee = await exportStoryTwee(db, built.storyId);
    const story = parseTwee(twee);
    expect(story.name).toBe('Twee [test] {story}');
    expect(story.IFID).toMatch(/^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
    expect(story.format).toBe('Harlowe');
    expect(story.formatVersion).toMatch(/^\d+\.\d+\.\d+$/);

    const names = new Set(story.passages.map((p) => p.name));
    expect(names.size).toBe(story.passages.length);
    expect(headerNames(twee).filter((n) => n !== 'StoryTitle' && n !== 'StoryData').sort()).toEqual([...names].sort());
    expect(names.has(story.start)).toBe(true);

    const archive = await exportStoryArchive(db, built.storyId);
    const scenePassages = story.passages.filter((p) => !p.tags.includes('unwritten'));
    expect(scenePassages).toHaveLength(archive.scenes.length);
    // One link per choice (plus one per extra version), and every link resolves.
    let links = 0;
    for (const passage of story.passages) {
      for (const target of linksOf(passage.text)) {
        expect(names.has(target), `${passage.name} links to missing "${target}"`).toBe(true);
        links++;
      }
    }
    const choices = archive.scenes.reduce((sum, s) => sum + s.choices.length, 0);
    expect(links).toBe(choices + 1); // the regenerated sibling is linked as another version

    const start = story.getPassageByName(story.start)!;
    expect(start.text).toContain('[[`Ask Hanna who "the others" were`->Scene 2 ·');
    // Prose is verbatim; the first bracket of `[[` and `]]` is a character reference outside it.
    expect(start.text).toContain('`A` &#91;`[link`&#93;`] and ::colons and <script>x</script>.`');
    const headText = story.passages.find((p) => p.text.includes('Piet talks to the fog'))!.text;
    // A `::` line starts with the verbatim fence, so it stays inside its passage with no backslash.
    expect(headText).toContain('\n`:: not a passage header`');
    const unwritten = story.getPassagesByTag('unwritten');
    expect(unwritten).toHaveLength(archive.scenes.flatMap((s) => s.choices).length - 2);
    expect(unwritten.every((p) => p.text.includes('not been written yet'))).toBe(true);
    expect(story.getPassagesByTag('alternate').map((p) => p.text)).toEqual([expect.stringContaining('Hanna says nothing')]);
    // Every scene of the fixture is the offline storyteller's, and its passage is tagged so.
    expect(story.getPassagesByTag('offline')).toHaveLength(archive.scenes.length);
  });

  it('tags only the offline storyteller\'s scenes as offline', async () => {
    const built = await insertBranchingStory(db, 'Mixed');
    await db.query(`UPDATE scenes SET provider = 'ollama', model = 'llama3.2' WHERE story_id = $1 AND scene_number = 1`, [built.storyId]);
    const story = parseTwee(await exportStoryTwee(db, built.storyId));
    const archive = await exportStoryArchive(db, built.storyId);
    expect(story.getPassagesByTag('offline')).toHaveLength(archive.scenes.filter((scene) => scene.provider === 'offline').length);
    expect(story.getPassageByName(story.start)!.tags).not.toContain('offline');
    const markdown = await exportStoryMarkdown(db, built.storyId);
    expect(markdown).toMatch(/^## Scene 1$/m);
    expect(markdown).toMatch(/^## Scene 2 · offline storyteller$/m);
  });

  it('keeps the IFID stable between two exports and distinct between stories', async () => {
    const a = await insertBranchingStory(db, 'Stable');
    const b = await insertBranchingStory(db, 'Other');
    const first = parseTwee(await exportStoryTwee(db, a.storyId));
    const second = parseTwee(await exportStoryTwee(db, a.storyId));
    const other = parseTwee(await exportStoryTwee(db, b.storyId));
    expect(second.IFID).toBe(first.IFID);
    expect(first.IFID).toBe(storyIfid(a.storyId));
    expect(other.IFID).not.toBe(first.IFID);
  });

  it('escapes the header metacharacters', () => {
    expect(escapeTweeHeaderText('a[b]{c}\\d')).toBe('a\\[b\\]\\{c\\}\\\\d');
  });

  it('puts prose in verbatim runs, so that no Harlowe markup in it runs', () => {
    const cases: [string, string][] = [
      ['(Note: x) [torn] {a} **b**', '`(Note: x) [torn] {a} **b**`'],
      ["''bold'' //it// ~~s~~ ^^up^^ |name>[hook] $var _temp <b>tag</b> &amp;", "`''bold'' //it// ~~s~~ ^^up^^ |name>[hook] $var _temp <b>tag</b> &amp;`"],
      ['# not a heading', '`# not a heading`'],
      ['  --- not a rule', '  `--- not a rule`'],
      ['ends with a backslash \\', '`ends with a backslash \\`'],
      [':: not a passage header', '`:: not a passage header`'],
      // A run one backtick longer than the longest inside; backticks at the ends are references.
      ['a `tick` and ``two`` here', '```a `tick` and ``two`` here```'],
      ['`quoted`', '&#96;`quoted`&#96;'],
      ['x `', '`x` &#96;'],
      // `[[` and `]]` never appear, so no tool reads prose as a link.
      ['A [[link]] here', '`A` &#91;`[link`&#93;`] here`'],
      ['line one\nline two\n\n  indented', '`line one`\n`line two`\n\n  `indented`'],
    ];
    for (const [prose, encoded] of cases) {
      expect(encodeHarloweProse(prose)).toBe(encoded);
      expect(onlyInertOutsideVerbatim(encoded)).toBe(true);
      expect(harloweShownText(encoded)).toBe(prose);
    }
  });

  it('writes each choice as a link that Harlowe and Twine both resolve, whatever its label holds', () => {
    const labels = ['Tie up the boat [carefully]', 'a]]b', '[[x', 'go -> left', 'back <- here', 'this | that', '`code` and ``more``', '(Note: x) {a} **b**', '<script>x</script>'];
    for (const label of labels) {
      const line = `[[${encodeHarloweLinkText(label)}->Scene 2 · abc123]]`;
      const links = harloweLinks(line);
      expect(links, label).toHaveLength(1);
      expect(links[0]!.passage).toBe('Scene 2 · abc123');
      expect(twineEditorLinkTargets(line)).toEqual(['Scene 2 · abc123']);
      expect(onlyInertOutsideVerbatim(links[0]!.text)).toBe(true);
      expect(harloweShownText(links[0]!.text)).toBe(label);
    }
    expect(encodeHarloweLinkText('Tie up the boat [carefully]')).toBe('`Tie up the boat` &#91;`carefully`&#93;');
    expect(encodeHarloweLinkText('go -> left | right')).toBe('`go -`&#62; `left` &#124; `right`');
  });

  it('writes a plain-text StoryTitle, grid positions, and every scene reachable when the taken choices are unknown', async () => {
    const title = 'A [[b]] (c: d) & `e` {f}';
    const python = {
      format_version: '1.0',
      story: { id: 1, title, created_at: '2025-12-30T18:02:11Z', system_prompt: null },
      scenes: [1, 2, 3].map((n) => ({ id: n, scene_number: n, content: `Scene ${n}: (Note: x) [torn] {a} **b**`, choices: [{ number: 1, content: 'On [and] on' }, { number: 2, content: 'Back' }] })),
      characters: [],
    };
    const { storyId } = await importStoryFile(db, JSON.stringify(python), 'py.json');
    const twee = await exportStoryTwee(db, storyId);
    expect(twee).toContain(`:: StoryTitle\n${title}\n`);
    const story = parseTwee(twee);
    expect(story.name).toBe(title);
    const positions = story.passages.map((p) => p.metadata['position']);
    expect(positions.every((p) => typeof p === 'string' && /^\d+,\d+$/.test(p))).toBe(true);
    expect(new Set(positions).size).toBe(positions.length);
    // Follow the links from the start: every scene's passage is reached.
    const byName = new Map(story.passages.map((p) => [p.name, p]));
    const reached = new Set([story.start]);
    const queue = [story.start];
    for (let i = 0; i < queue.length && i < 1000; i++) {
      for (const link of harloweLinks(byName.get(queue[i]!)!.text)) {
        expect(byName.has(link.passage)).toBe(true);
        if (!reached.has(link.passage)) reached.add(link.passage), queue.push(link.passage);
      }
    }
    const scenes = story.passages.filter((p) => !p.tags.includes('unwritten'));
    expect(scenes).toHaveLength(3);
    expect(scenes.every((p) => reached.has(p.name))).toBe(true);
    for (const passage of scenes) expect(harloweShownText(passage.text.split('\n\n')[0]!)).toMatch(/^Scene \d: \(Note: x\) \[torn\] \{a\} \*\*b\*\*$/);
  });
});
