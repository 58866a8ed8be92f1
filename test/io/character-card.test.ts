import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/index.js';
import { isAppError } from '../../src/errors.js';
import { exportCharacterCard, importCharacterCard, parseCharacterCard } from '../../src/io/index.js';
import { createServerTestDatabase, type TestServerDatabase } from '../helpers/db.js';
import { insertStory } from '../helpers/fixtures.js';
import { countRows } from './builders.js';
import { createTestEmbedder } from '../helpers/test-embedder.js';

const embedder = createTestEmbedder();
import { decodeText, imageOf, readChunks, writeTestPng } from './png-reader.js';

const base64Json = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64');

function v2Card(name = 'Maren Vos') {
  return {
    spec: 'chara_card_v2',
    spec_version: '2.0',
    made_by_tool: { name: 'CardForge', version: 7 },
    data: {
      name,
      description: 'A lighthouse keeper with salt in her hair. Ünïcödé ✓ and <b>markup</b>.',
      personality: 'Patient, dry humour',
      scenario: 'The lighthouse on Vell point, during the long fog.',
      first_mes: 'You made it up the stairs, then.',
      mes_example: '<START>\n{{char}}: The lamp needs oil.',
      creator_notes: 'Test card',
      system_prompt: '',
      post_history_instructions: '',
      alternate_greetings: ['Mind the step.'],
      tags: ['lighthouse'],
      creator: 'test',
      character_version: '1.2',
      extensions: { depth_prompt: { prompt: 'Speak softly', depth: 4 }, some_tool: { nested: [1, 2, { deep: true }] } },
      unknown_data_field: 'kept',
      character_book: {
        name: 'Vell lore',
        scan_depth: 3,
        extensions: { book_ext: 'x' },
        entries: [
          { keys: ['lamp', 'light'], content: 'The lamp burns whale oil.', extensions: { position_ext: 2 }, enabled: true, insertion_order: 0, name: 'The lamp' },
          { keys: ['fog'], content: 'The fog came in spring.', extensions: {}, enabled: false, insertion_order: 1, comment: 'Fog note' },
          { keys: ['empty'], content: '', extensions: { placeholder: true }, enabled: true, insertion_order: 2 },
          { keys: ['Piet', 'fisherman'], content: 'Piet Sand fished these waters for forty years.', extensions: {}, enabled: true, insertion_order: 3 },
        ],
      },
    },
  };
}

describe('character cards', () => {
  let server: TestServerDatabase;
  let db: Database;
  beforeAll(async () => {
    server = await createServerTestDatabase({ poolSize: 6 });
    db = server.db;
  });
  afterAll(async () => server.drop());

  it('imports a V2 card from a PNG as a character with its description, personality and scenario, and its book as lore', async () => {
    const storyId = await insertStory(db);
    const png = writeTestPng([['chara', base64Json(v2Card())]]);
    const result = await importCharacterCard(db, storyId, png, embedder);
    expect(result.loreEntryIds).toHaveLength(3);
    const { rows } = await db.query<{ name: string; description: string; personality: string; background: string; metadata: { character_card: { data: Record<string, unknown> } } }>(
      'SELECT name, description, personality, background, metadata FROM characters WHERE story_id = $1 AND id = $2',
      [storyId, result.characterId],
    );
    expect(rows[0]).toMatchObject({
      name: 'Maren Vos',
      description: 'A lighthouse keeper with salt in her hair. Ünïcödé ✓ and <b>markup</b>.',
      personality: 'Patient, dry humour',
      background: 'The lighthouse on Vell point, during the long fog.',
    });
    expect(rows[0]!.metadata.character_card.data).toMatchObject({ first_mes: 'You made it up the stairs, then.', unknown_data_field: 'kept' });
    const lore = await db.query<{ title: string; keywords: string[]; content: string; enabled: boolean; metadata: { character_card: { entry: { extensions: unknown } } } }>(
      'SELECT title, keywords, content, enabled, metadata FROM lore_entries WHERE story_id = $1 ORDER BY created_at, title',
      [storyId],
    );
    expect(lore.rows.map((r) => [r.title, r.keywords, r.content, r.enabled])).toEqual(
      expect.arrayContaining([
        ['The lamp', ['lamp', 'light'], 'The lamp burns whale oil.', true],
        ['Fog note', ['fog'], 'The fog came in spring.', false],
        ['Piet, fisherman', ['Piet', 'fisherman'], 'Piet Sand fished these waters for forty years.', true],
      ]),
    );
    expect(lore.rows.find((r) => r.title === 'The lamp')!.metadata.character_card.entry.extensions).toEqual({ position_ext: 2 });
  });

  it('exports a PNG with both chunks that an independent reader accepts, unknown fields and extensions intact', async () => {
    const storyId = await insertStory(db);
    const { characterId } = await importCharacterCard(db, storyId, JSON.stringify(v2Card()), embedder);
    const exported = await exportCharacterCard(db, storyId, characterId, { format: 'png' });
    expect(exported).toMatchObject({ format: 'png', mediaType: 'image/png', filename: 'maren-vos.png' });
    const chunks = readChunks(exported.content as Buffer);
    const image = imageOf(chunks);
    expect(image).toMatchObject({ width: 64, height: 64, rowsAreUnfiltered: true });
    const texts = new Map(chunks.filter((c) => c.type === 'tEXt').map((c) => [decodeText(c).keyword, decodeText(c).text]));
    expect([...texts.keys()].sort()).toEqual(['ccv3', 'chara']);
    const v2 = JSON.parse(Buffer.from(texts.get('chara')!, 'base64').toString('utf8'));
    const v3 = JSON.parse(Buffer.from(texts.get('ccv3')!, 'base64').toString('utf8'));
    expect(v2).toMatchObject({ spec: 'chara_card_v2', spec_version: '2.0', made_by_tool: { name: 'CardForge', version: 7 } });
    expect(v3).toMatchObject({ spec: 'chara_card_v3', spec_version: '3.0' });
    const original = v2Card().data;
    for (const card of [v2, v3]) {
      expect(card.data.extensions).toEqual(original.extensions);
      expect(card.data).toMatchObject({
        name: original.name,
        description: original.description,
        personality: original.personality,
        scenario: original.scenario,
        first_mes: original.first_mes,
        mes_example: original.mes_example,
        unknown_data_field: 'kept',
        alternate_greetings: ['Mind the step.'],
      });
      expect(card.data.character_book).toMatchObject({ name: 'Vell lore', scan_depth: 3, extensions: { book_ext: 'x' } });
      expect(card.data.character_book.entries.map((e: { keys: string[] }) => e.keys)).toEqual([['lamp', 'light'], ['fog'], ['empty'], ['Piet', 'fisherman']]);
      expect(card.data.character_book.entries[0]).toMatchObject({ extensions: { position_ext: 2 }, name: 'The lamp', enabled: true });
      expect(card.data.character_book.entries[2]).toMatchObject({ extensions: { placeholder: true }, content: '' });
    }
    expect(v3.data.group_only_greetings).toEqual([]);
    expect(v3.data.character_book.entries.every((e: { use_regex: unknown }) => e.use_regex === false)).toBe(true);

    // And it reads back through our own import, into another story.
    const again = await importCharacterCard(db, await insertStory(db), exported.content, embedder);
    expect(again.loreEntryIds).toHaveLength(3);
  });

  it('exports JSON as V3 by default and V2 on request, reflecting edits made after the import', async () => {
    const storyId = await insertStory(db);
    const long = 'Long. '.repeat(1000); // 6000 characters: cut to 4000 in the column, whole in the card
    const card = v2Card('Jonas');
    card.data.description = long;
    const { characterId } = await importCharacterCard(db, storyId, JSON.stringify(card), embedder);
    const stored = await db.query<{ description: string }>('SELECT description FROM characters WHERE id = $1', [characterId]);
    expect(stored.rows[0]!.description).toHaveLength(4000);
    const v3 = JSON.parse((await exportCharacterCard(db, storyId, characterId, { format: 'json' })).content as string);
    expect(v3.spec_version).toBe('3.0');
    expect(v3.data.description).toBe(long);

    await db.query(`UPDATE characters SET personality = 'Sharp now', goals = 'Keep the light' WHERE id = $1`, [characterId]);
    await db.query(`UPDATE lore_entries SET content = 'The lamp burns paraffin.' WHERE story_id = $1 AND title = 'The lamp'`, [storyId]);
    await db.query(`DELETE FROM lore_entries WHERE story_id = $1 AND title = 'Fog note'`, [storyId]);
    const v2 = JSON.parse((await exportCharacterCard(db, storyId, characterId, { format: 'json', version: 2 })).content as string);
    expect(v2).toMatchObject({ spec: 'chara_card_v2', spec_version: '2.0' });
    expect(v2.data.personality).toBe('Sharp now');
    expect(v2.data.extensions.livingworld).toEqual({ goals: 'Keep the light', mood: 'neutral' });
    expect(v2.data.extensions.some_tool).toEqual({ nested: [1, 2, { deep: true }] });
    expect(v2.data.character_book.entries.map((e: { content: string }) => e.content)).toEqual([
      'The lamp burns paraffin.',
      '',
      'Piet Sand fished these waters for forty years.',
    ]);
  });

  it('prefers the ccv3 chunk, reads a V3 card and a V1 card, and warns about a newer V3', async () => {
    const v3 = { spec: 'chara_card_v3', spec_version: '3.0', data: { ...v2Card('From V3').data, nickname: 'V', group_only_greetings: [] } };
    const png = writeTestPng([
      ['chara', base64Json(v2Card('From V2'))],
      ['ccv3', base64Json(v3)],
    ]);
    expect(parseCharacterCard(png).card).toMatchObject({ spec: 'chara_card_v3', data: { name: 'From V3', nickname: 'V' } });
    const v1 = parseCharacterCard(JSON.stringify({ name: 'Old', description: 'd', personality: 'p', scenario: 's', first_mes: 'hi', mes_example: '' }));
    expect(v1.card).toMatchObject({ spec: 'chara_card_v2', data: { name: 'Old' } });
    expect(parseCharacterCard(JSON.stringify({ ...v3, spec_version: '3.5' })).warnings.join(' ')).toMatch(/newer than 3\.0/);
  });

  it('refuses bad cards with clear validation errors and writes nothing', async () => {
    const storyId = await insertStory(db);
    const before = await countRows(db);
    const corrupt = writeTestPng([['chara', base64Json(v2Card())]]);
    corrupt[40] = corrupt[40]! ^ 0xff; // inside the tEXt chunk: its CRC no longer matches
    const forgedLength = writeTestPng([['chara', base64Json(v2Card())]]);
    forgedLength.writeUInt32BE(0xfffffff0, 33);
    const cases: [Buffer | string, RegExp][] = [
      [corrupt, /PNG is corrupt/],
      [forgedLength, /runs past the end/],
      [writeTestPng([]), /no character card/],
      [writeTestPng([['chara', 'not base64 json!!']]), /chara chunk is not/],
      [JSON.stringify({ spec: 'chara_card_v2', data: { name: 42 } }), /data\.name: Invalid input: expected string/],
      [JSON.stringify({ spec: 'chara_card_v2', data: { name: 'Ok', description: 'bell\u0007' } }), /data\.description: contains the control character/],
      [JSON.stringify({ spec: 'chara_card_v2', data: { name: '!!!' } }), /data\.name: has no letters or digits/],
      [JSON.stringify({ spec: 'chara_card_v2', data: { name: 'Ok', character_book: { entries: [{ keys: 'lamp', content: 'x' }] } } }), /data\.character_book\.entries\[0\]\.keys/],
      [JSON.stringify({ spec: 'chara_card_v9', data: {} }), /expected "chara_card_v2" or "chara_card_v3"/],
      ['not json', /neither a PNG nor valid JSON/],
    ];
    for (const [content, message] of cases) {
      const error = await importCharacterCard(db, storyId, content, embedder).catch((e: unknown) => e);
      expect(isAppError(error, 'validation'), String(message)).toBe(true);
      expect((error as Error).message).toMatch(message);
    }
    await expect(importCharacterCard(db, '00000000-0000-4000-8000-000000000000', JSON.stringify(v2Card()), embedder)).rejects.toMatchObject({ code: 'not_found' });
    expect(await countRows(db)).toEqual(before);
  });

  it('refuses a character of the same normalised name, also when several imports race', async () => {
    const storyId = await insertStory(db);
    const attempts = await Promise.allSettled(
      ['Maren Vos', 'maren vos', ' MAREN  VOS!', 'Maren Vos'].map((name) => importCharacterCard(db, storyId, JSON.stringify(v2Card(name)), embedder)),
    );
    expect(attempts.filter((a) => a.status === 'fulfilled')).toHaveLength(1);
    const winner = await db.query<{ id: string; name: string }>('SELECT id, name FROM characters WHERE story_id = $1', [storyId]);
    for (const attempt of attempts) {
      if (attempt.status === 'rejected') {
        expect(attempt.reason).toMatchObject({ code: 'validation', details: { conflict: 'character_exists', characterId: winner.rows[0]!.id } });
        expect(attempt.reason.message).toContain(`already has a character named "${winner.rows[0]!.name}"`);
      }
    }
    const { rows } = await db.query<{ characters: string; lore: string }>(
      'SELECT (SELECT count(*) FROM characters WHERE story_id = $1)::text AS characters, (SELECT count(*) FROM lore_entries WHERE story_id = $1)::text AS lore',
      [storyId],
    );
    expect(rows[0]).toEqual({ characters: '1', lore: '3' });
  });
});
