import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServerTestDatabase, type TestServerDatabase } from '../helpers/db.js';
import { startServeProcess, type ServeProcess } from './serve-process.js';
import { call, type JsonResponse } from './test-server.js';
import fs from 'node:fs';
import path from 'node:path';
import { startLostReplyProxy, type LostReplyProxy } from '../../scripts/hammer/lost-reply-proxy.js';
import { storyCardV3 } from '../io/card-builders.js';

// Process A reaches PostgreSQL through a proxy that loses COMMIT replies; process B is direct.
// Each write goes to A with a key while its COMMIT reply is lost, then is retried with the same
// key on B (as a load balancer would): exactly one effect, and the retry gets the first answer.
let database: TestServerDatabase;
let proxy: LostReplyProxy;
let a: ServeProcess;
let b: ServeProcess;

beforeAll(async () => {
  database = await createServerTestDatabase({ poolSize: 2 });
  proxy = await startLostReplyProxy(database.url);
  [a, b] = await Promise.all([
    startServeProcess({ env: { DATABASE_URL: proxy.url, LIVINGWORLD_TURN_RATE_LIMIT: '1000' }, startTimeoutMs: 90_000 }),
    startServeProcess({ env: { DATABASE_URL: database.url, LIVINGWORLD_TURN_RATE_LIMIT: '1000' }, startTimeoutMs: 90_000 }),
  ]);
}, 200_000);
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await proxy?.close();
  await database?.drop();
});

const count = async (sql: string, params: unknown[] = []) => Number((await database.db.query<{ n: string }>(sql, params)).rows[0]!.n);

async function newStory(): Promise<{ id: string; headSceneId: string }> {
  const created = await call(b.url, 'POST', '/api/stories', { title: 'Lost replies', setting: 'A harbour where letters go missing.' });
  expect(created.status).toBe(201);
  return { id: created.body.story.id, headSceneId: created.body.scene.id };
}

/**
 * Sends the write to A while the reply to the COMMIT of the transaction matching `pattern` is
 * lost, then retries it on B with the same key. Returns both answers.
 */
async function lostThenRetried(
  pattern: RegExp,
  method: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ first: JsonResponse; retry: JsonResponse }> {
  const key = randomUUID();
  const lost = proxy.loseNextCommit(pattern);
  const before = proxy.lostCommits;
  const first = await call(a.url, method, path, body, { ...headers, 'idempotency-key': key });
  // A route that ignores the key sends no matching COMMIT, and nothing is lost: say so at once.
  const lostInTime = await Promise.race([lost.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 3_000))]);
  expect(lostInTime, `${method} ${path} committed nothing matching ${pattern} (does it store its answer under the key?)`).toBe(true);
  expect(proxy.lostCommits).toBe(before + 1);
  // Either A found out the write had landed (and answered it) or it says the outcome is unknown.
  expect([200, 201, 204, 503]).toContain(first.status);
  const retry = await call(b.url, method, path, body, { ...headers, 'idempotency-key': key });
  expect(retry.status, JSON.stringify(retry.body)).toBeLessThan(300);
  // A turn's answer also says how it was answered (generated, then replayed); the rest is the same.
  const sameAnswer = (r: JsonResponse) => (r.body && typeof r.body === 'object' ? { ...r.body, how: undefined } : r.body);
  if (first.status < 300) expect(sameAnswer(retry)).toEqual(sameAnswer(first));
  return { first, retry };
}

const answerInsert = /INSERT INTO idempotency_keys/;

describe('every write, retried with its key after a lost COMMIT reply, has exactly one effect', () => {
  it('talk: one conversation memory and one interaction', async () => {
    const story = await newStory();
    const characters = await call(b.url, 'GET', `/api/stories/${story.id}/characters`);
    const character = characters.body.characters[0];
    expect(character).toBeDefined();
    const memories = () => count(`SELECT count(*) AS n FROM character_memories WHERE character_id = $1 AND kind = 'conversation'`, [character.id]);
    // The player's relationship as the world stands at the story's head (talks happen there).
    const interactions = () =>
      count(
        `SELECT coalesce(sum(r.interaction_count), 0) AS n FROM relationship_states r JOIN stories s ON s.id = r.story_id AND s.head_scene_id = r.scene_id
          WHERE r.character_id = $1 AND r.target_character_id IS NULL`,
        [character.id],
      );
    const [memoriesBefore, interactionsBefore] = [await memories(), await interactions()];
    const { retry } = await lostThenRetried(answerInsert, 'POST', `/api/characters/${character.id}/talk`, { message: 'Any letters for me?' });
    expect(typeof retry.body.reply).toBe('string');
    expect(await memories()).toBe(memoriesBefore + 1);
    expect(await interactions()).toBe(interactionsBefore + 1);
  });

  it('undo and rewind: the head moves back once', async () => {
    const story = await newStory();
    const second = await call(b.url, 'POST', `/api/stories/${story.id}/turns`, { choice: 1 });
    const third = await call(b.url, 'POST', `/api/stories/${story.id}/turns`, { choice: 1 });
    expect(third.status).toBe(201);
    const { retry } = await lostThenRetried(answerInsert, 'POST', `/api/stories/${story.id}/undo`, {});
    expect(retry.body.scene.id).toBe(second.body.scene.id);
    expect((await call(b.url, 'GET', `/api/stories/${story.id}`)).body.story.headSceneId).toBe(second.body.scene.id);
    const rewound = await lostThenRetried(answerInsert, 'POST', `/api/stories/${story.id}/rewind`, { toSceneId: story.headSceneId });
    expect(rewound.retry.body.scene.id).toBe(story.headSceneId);
    // One head move each: version rose by exactly one per write.
    expect(rewound.retry.body.version).toBe(retry.body.version + 1);
  });

  it('new story: one story, with its one opening scene', async () => {
    const title = `Once ${randomUUID()}`;
    const { retry } = await lostThenRetried(answerInsert, 'POST', '/api/stories', { title, setting: 'A lighthouse.' });
    expect(await count(`SELECT count(*) AS n FROM stories WHERE title = $1`, [title])).toBe(1);
    expect(await count(`SELECT count(*) AS n FROM scenes WHERE story_id = $1`, [retry.body.story.id])).toBe(1);
  });

  it('import: one story', async () => {
    const story = await newStory();
    const file = await fetch(`${b.url}/api/stories/${story.id}/export?format=json`).then((r) => r.text());
    const title = `Imported ${randomUUID()}`;
    const archive = JSON.stringify({ ...JSON.parse(file), story: { ...JSON.parse(file).story, title } });
    const { retry } = await lostThenRetried(answerInsert, 'POST', '/api/import', archive, { 'content-type': 'application/json' });
    expect(retry.body.story.title).toBe(title);
    expect(await count(`SELECT count(*) AS n FROM stories WHERE title = $1`, [title])).toBe(1);
  });

  it('character edit: one new version', async () => {
    const story = await newStory();
    const character = (await call(b.url, 'GET', `/api/stories/${story.id}/characters`)).body.characters[0];
    const { retry } = await lostThenRetried(answerInsert, 'PATCH', `/api/characters/${character.id}`, { mood: 'wary' }, { 'if-match': `"${character.version}"` });
    expect(retry.body.character.version).toBe(character.version + 1);
    expect(await count(`SELECT version AS n FROM characters WHERE id = $1`, [character.id])).toBe(character.version + 1);
  });

  it('lore add, edit and delete: one entry, one version, one deletion', async () => {
    const story = await newStory();
    const added = await lostThenRetried(answerInsert, 'POST', `/api/stories/${story.id}/lore`, { title: 'The lamp', content: 'It never goes out.' });
    expect(await count(`SELECT count(*) AS n FROM lore_entries WHERE story_id = $1`, [story.id])).toBe(1);
    const entry = added.retry.body.entry;
    const edited = await lostThenRetried(answerInsert, 'PATCH', `/api/stories/${story.id}/lore/${entry.id}`, { content: 'It went out once.' }, { 'if-match': `"${entry.version}"` });
    expect(edited.retry.body.entry.version).toBe(entry.version + 1);
    const removed = await lostThenRetried(answerInsert, 'DELETE', `/api/stories/${story.id}/lore/${entry.id}`, undefined);
    expect(removed.retry.status).toBe(204);
    expect(await count(`SELECT count(*) AS n FROM lore_entries WHERE story_id = $1`, [story.id])).toBe(0);
  });

  it('members: one membership, the same answer', async () => {
    const story = await newStory();
    const name = `reader${randomUUID().slice(0, 8)}`;
    await database.db.query(`INSERT INTO users (name) VALUES ($1)`, [name]);
    const { retry } = await lostThenRetried(answerInsert, 'POST', `/api/stories/${story.id}/members`, { user: name, role: 'reader' });
    expect(retry.body).toEqual({ member: { user: name, role: 'reader' } });
    expect(await count(`SELECT count(*) AS n FROM story_members m JOIN users u ON u.id = m.user_id WHERE m.story_id = $1 AND u.name = $2`, [story.id, name])).toBe(1);
  });

  it('advance and regenerate: one scene each when the commit reply is lost', async () => {
    const story = await newStory();
    const advanced = await lostThenRetried(/status = 'succeeded'/, 'POST', `/api/stories/${story.id}/turns`, { choice: 2 });
    expect(await count(`SELECT count(*) AS n FROM scenes WHERE story_id = $1`, [story.id])).toBe(2);
    const regenerated = await lostThenRetried(/status = 'succeeded'/, 'POST', `/api/stories/${story.id}/regenerate`, {});
    expect(regenerated.retry.body.scene.id).not.toBe(advanced.retry.body.scene.id);
    expect(await count(`SELECT count(*) AS n FROM scenes WHERE story_id = $1`, [story.id])).toBe(3);
  });

  it('story PATCH: the player is renamed once (the version rises by one)', async () => {
    const story = await newStory();
    const before = (await call(b.url, 'GET', `/api/stories/${story.id}`)).body.story.version;
    const { retry } = await lostThenRetried(answerInsert, 'PATCH', `/api/stories/${story.id}`, { playerName: 'Ada' });
    expect(retry.body.story).toMatchObject({ playerName: 'Ada', version: before + 1 });
    expect(await count(`SELECT version AS n FROM stories WHERE id = $1`, [story.id])).toBe(before + 1);
  });

  it('story archive: archived once, and the retry gets the same answer', async () => {
    const story = await newStory();
    const { retry } = await lostThenRetried(answerInsert, 'PATCH', `/api/stories/${story.id}`, { status: 'archived' });
    expect(retry.body.story.status).toBe('archived');
  });

  it('story delete: deleted once, and the retry is answered 204 (not 404)', async () => {
    const story = await newStory();
    const { retry } = await lostThenRetried(answerInsert, 'DELETE', `/api/stories/${story.id}`, undefined);
    expect(retry.status).toBe(204);
    expect(await count(`SELECT count(*) AS n FROM stories WHERE id = $1`, [story.id])).toBe(0);
  });

  it('lore import: the entries of the book are written once, and the retry gets the same answer', async () => {
    const story = await newStory();
    const book = fs.readFileSync(path.resolve('test/fixtures/cards/every-option.world-info.json'), 'utf8');
    const { retry } = await lostThenRetried(answerInsert, 'POST', `/api/stories/${story.id}/lore/import`, book, { 'content-type': 'application/json' });
    expect(retry.body.loreEntryIds.length).toBeGreaterThan(0);
    expect(await count(`SELECT count(*) AS n FROM lore_entries WHERE story_id = $1`, [story.id])).toBe(retry.body.loreEntryIds.length);
  });

  it('import: a replay answers what the import answered, notes on what was not carried over included', async () => {
    const twee = fs.readFileSync(path.resolve('test/fixtures/io/twine/lighthouse.twee'), 'utf8');
    const plain = await call(b.url, 'POST', '/api/import?filename=lighthouse.twee', twee, { 'content-type': 'text/plain' });
    expect(plain.status).toBe(201);
    expect(plain.body.notCarriedOver.length).toBeGreaterThan(0);
    // Other bytes (so the keyed import is not a copy of the first), the same story.
    const { retry } = await lostThenRetried(answerInsert, 'POST', '/api/import?filename=lighthouse.twee', `${twee}\n`, { 'content-type': 'text/plain' });
    expect(retry.body).toMatchObject({ format: 'twee', notCarriedOver: plain.body.notCarriedOver, repairs: plain.body.repairs });
    expect(retry.body.copyOf).toBeUndefined();
    expect(await count(`SELECT count(*) AS n FROM stories WHERE import_hash IS NOT NULL AND title = $1`, [plain.body.story.title])).toBe(2);
  });

  it('card upload: one story, one character, one opening', async () => {
    const card = storyCardV3();
    card.data.name = `Maren ${randomUUID().slice(0, 8)}`;
    const { retry } = await lostThenRetried(/INSERT INTO idempotency_keys/, 'POST', '/api/cards', JSON.stringify(card), { 'content-type': 'application/octet-stream' });
    expect(await count(`SELECT count(*) AS n FROM stories WHERE title = $1`, [card.data.name])).toBe(1);
    expect(await count(`SELECT count(*) AS n FROM characters WHERE story_id = $1`, [retry.body.story.id])).toBe(1);
    expect(await count(`SELECT count(*) AS n FROM scenes WHERE story_id = $1`, [retry.body.story.id])).toBe(1);
  });

  it('new story from a card (JSON): one story, one character, one opening', async () => {
    const card = storyCardV3();
    card.data.name = `Maren ${randomUUID().slice(0, 8)}`;
    const { retry } = await lostThenRetried(answerInsert, 'POST', '/api/stories', { card });
    expect(await count(`SELECT count(*) AS n FROM stories WHERE title = $1`, [card.data.name])).toBe(1);
    expect(await count(`SELECT count(*) AS n FROM characters WHERE story_id = $1`, [retry.body.story.id])).toBe(1);
  });

  it('a key reused for a different body is refused with 422 and changes nothing', async () => {
    const story = await newStory();
    const key = randomUUID();
    const first = await call(b.url, 'POST', `/api/stories/${story.id}/lore`, { title: 'One', content: 'First.' }, { 'idempotency-key': key });
    expect(first.status).toBe(201);
    const other = await call(a.url, 'POST', `/api/stories/${story.id}/lore`, { title: 'Two', content: 'Second.' }, { 'idempotency-key': key });
    expect(other.status).toBe(422);
    expect(other.body.error.code).toBe('idempotency_mismatch');
    expect(await count(`SELECT count(*) AS n FROM lore_entries WHERE story_id = $1`, [story.id])).toBe(1);
  });
});
