import { describe, expect, it } from 'vitest';
import { MAX_ARCHIVE_BYTES, MAX_CHARACTERS, MAX_SCENES, parseStoryArchive, parseStoryMarkdown, type StoryArchive } from '../../src/io/index.js';

/** A valid one-scene archive, built without a database. */
function smallArchive(): StoryArchive {
  return parseStoryMarkdown('# Limits\n\n## Scene 1\n\nA small room.\n\n**Choices:**\n1. Leave\n\n---\n');
}

describe('story archive limits', () => {
  it('accepts the small archive it starts from', () => {
    expect(() => parseStoryArchive(smallArchive())).not.toThrow();
  });

  it('refuses more scenes or characters than the limits', () => {
    const archive = smallArchive();
    const scene = archive.scenes[0]!;
    const tooMany = { ...archive, scenes: Array.from({ length: MAX_SCENES + 1 }, (_, i) => ({ ...scene, id: `s${i}` })) };
    expect(() => parseStoryArchive(tooMany)).toThrow(/Invalid story archive: scenes: has more than 10000 entries/);
    const character = { id: 'c', name: 'A', description: '', personality: '', goals: '', background: '', mood: 'neutral', emotion: { valence: 0, arousal: 0, dominance: 0 }, metadata: {}, first_scene_id: null, version: 0, created_at: scene.created_at, updated_at: scene.created_at };
    const crowd = { ...archive, characters: Array.from({ length: MAX_CHARACTERS + 1 }, (_, i) => ({ ...character, id: `c${i}`, name: `Person ${i}` })) };
    expect(() => parseStoryArchive(crowd)).toThrow(/characters: has more than 1000 entries/);
  });

  it('refuses a file larger than the byte limit before looking inside', () => {
    const archive = smallArchive();
    const big = { ...archive, padding: 'x'.repeat(MAX_ARCHIVE_BYTES) };
    expect(() => parseStoryArchive(big)).toThrow(/\(root\): is larger than 20971520 bytes/);
  });

  it('refuses metadata that jsonb cannot hold, naming the path inside it', () => {
    const archive = smallArchive();
    archive.scenes[0]!.metadata = { notes: ['fine', 'nul\u0000here'] };
    expect(() => parseStoryArchive(archive)).toThrow(/scenes\[0\]\.metadata\.notes\[1\]: contains a NUL character/);
    archive.scenes[0]!.metadata = null;
    expect(() => parseStoryArchive(archive)).toThrow(/scenes\[0\]\.metadata: must not be null/);
  });

  it('keeps markup as text', () => {
    const archive = smallArchive();
    archive.scenes[0]!.content = '<script>alert(1)</script> **bold** [[link]]';
    expect(parseStoryArchive(archive).scenes[0]!.content).toBe('<script>alert(1)</script> **bold** [[link]]');
  });

  it('keeps a __proto__ key in metadata as data', () => {
    const archive = JSON.parse(JSON.stringify(smallArchive()).replace('"metadata":{}', '"metadata":{"__proto__":{"polluted":true}}'));
    const parsed = parseStoryArchive(archive);
    expect(Object.keys(parsed.scenes[0]!.metadata as object)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});
