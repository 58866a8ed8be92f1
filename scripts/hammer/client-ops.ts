import { randomUUID } from 'node:crypto';
import { callApi, type ApiResult, type ApiTarget } from './api-client.js';
import { judge, type JudgeContext } from './judge-result.js';
import type { Random } from './random.js';
import type { KnownStory, StoryBook } from './story-book.js';

/**
 * The operations a hammer client performs against the HTTP API, each judged by
 * `judge` and folded into the story book (heads seen, scenes acknowledged, keys used).
 */

export interface ClientContext extends JudgeContext {
  book: StoryBook;
  pickTarget(random: Random): ApiTarget;
  timeouts: { turnMs: number; otherMs: number };
}

/** A keyed turn request whose outcome the client never learned; it retries it later with the same key. */
interface PendingTurn {
  story: KnownStory;
  path: string;
  body: Record<string, unknown>;
  key: string;
  expectedParentId: string | undefined;
  expectedChoice: number | undefined;
}

export interface ClientState {
  id: number;
  random: Random;
  pending: PendingTurn[];
}

// story_archived: a story is archived for a moment now and then while turns run.
const turnExpected = ['201', '409:turn_conflict', '409:story_archived'];

function pickStory(ctx: ClientContext, random: Random, predicate: (s: KnownStory) => boolean = () => true): KnownStory | undefined {
  const hot = ctx.book.hot().filter(predicate);
  const cold = ctx.book.cold().filter(predicate);
  if (hot.length > 0 && (cold.length === 0 || random.chance(0.6))) return random.pick(hot);
  return cold.length > 0 ? random.pick(cold) : undefined;
}

/** Folds a turn answer into the book and checks what a 201 promises. */
function takeTurnResult(ctx: ClientContext, op: string, result: ApiResult, turn: Omit<PendingTurn, 'key' | 'path' | 'body'> & { key?: string }): void {
  const { story } = turn;
  if (result.status === 201) {
    const scene = result.body?.scene;
    if (typeof scene?.id !== 'string' || scene.storyId !== story.id) {
      ctx.violations.add('201 without a scene of this story', `${op}: ${JSON.stringify(result.body).slice(0, 300)}`);
      return;
    }
    ctx.book.acknowledged.push({
      storyId: story.id,
      sceneId: scene.id,
      op,
      expectedParentId: turn.expectedParentId,
      expectedChoice: turn.expectedChoice,
      idempotencyKey: turn.key,
      incarnation: result.target.name,
    });
    ctx.book.sawHead(story.id, scene.id);
    const how = String(result.body?.how ?? 'unknown');
    ctx.book.how.set(how, (ctx.book.how.get(how) ?? 0) + 1);
    if (!Array.isArray(scene.choices) || scene.choices.length !== 3) ctx.violations.add('201 scene without three choices', `${op} scene ${scene.id}`);
    if (turn.key) {
      const earlier = ctx.book.sceneByKey.get(`${story.id}/${turn.key}`);
      if (earlier && earlier !== scene.id) {
        ctx.violations.add('one idempotency key, two scenes', `${op} story ${story.id} key ${turn.key}: ${earlier} then ${scene.id}`);
      }
      ctx.book.sceneByKey.set(`${story.id}/${turn.key}`, earlier ?? scene.id);
    }
    return;
  }
  if (result.errorCode === 'turn_conflict') ctx.book.sawHead(story.id, result.body?.error?.headSceneId);
}

async function sendTurn(ctx: ClientContext, client: ClientState, op: string, turn: PendingTurn, options: { eventStream?: boolean; target?: ApiTarget } = {}) {
  const result = await callApi(options.target ?? ctx.pickTarget(client.random), {
    method: 'POST',
    path: turn.path,
    json: turn.body,
    headers: turn.key ? { 'idempotency-key': turn.key } : {},
    eventStream: options.eventStream ?? false,
    timeoutMs: ctx.timeouts.turnMs,
  });
  const verdict = judge(ctx, op, result, turnExpected, { callsModel: true });
  takeTurnResult(ctx, op, result, turn);
  // Outcome unknown: the turn may have landed. Retry later with the same key, as a client should.
  const unknown = verdict === 'killed' || result.errorCode === 'database_unavailable' || result.errorCode === 'shutting_down';
  if (unknown && turn.key && client.pending.length < 20) client.pending.push(turn);
  return result;
}

function newAdvance(ctx: ClientContext, client: ClientState, story: KnownStory, withKey: boolean): PendingTurn {
  const { random } = client;
  // Many clients picking the same choice from the same head collide into one generation.
  const same = random.chance(0.4);
  const choice = same ? 1 : 1 + random.int(3);
  const instruction = !same && random.chance(0.2) ? `hammer instruction ${random.int(4)}` : undefined;
  const fromSceneId = story.headSceneId && random.chance(0.7) ? story.headSceneId : undefined;
  return {
    story,
    path: `/api/stories/${story.id}/turns`,
    body: { choice, ...(instruction ? { instruction } : {}), ...(fromSceneId ? { fromSceneId } : {}) },
    key: withKey ? `hk-${client.id}-${randomUUID()}` : '',
    expectedParentId: fromSceneId,
    expectedChoice: choice,
  };
}

export async function advance(ctx: ClientContext, client: ClientState, eventStream: boolean): Promise<void> {
  const story = pickStory(ctx, client.random, (s) => s.headSceneId !== null);
  if (!story) return;
  await sendTurn(ctx, client, eventStream ? 'advance-sse' : 'advance', newAdvance(ctx, client, story, client.random.chance(0.4)), { eventStream });
}

/** A double click: the same keyed request twice at once, possibly to two processes. */
export async function doubleClick(ctx: ClientContext, client: ClientState): Promise<void> {
  const story = pickStory(ctx, client.random, (s) => s.headSceneId !== null);
  if (!story) return;
  const turn = newAdvance(ctx, client, story, true);
  await Promise.all([sendTurn(ctx, client, 'double-click', turn), sendTurn(ctx, client, 'double-click', turn)]);
}

export async function retryPending(ctx: ClientContext, client: ClientState): Promise<boolean> {
  const turn = client.pending.shift();
  if (!turn) return false;
  await sendTurn(ctx, client, 'retry-key', turn);
  return true;
}

export async function regenerate(ctx: ClientContext, client: ClientState): Promise<void> {
  const story = pickStory(ctx, client.random, (s) => s.headSceneId !== null);
  if (!story) return;
  const fromSceneId = client.random.chance(0.7) ? story.headSceneId! : undefined;
  const key = client.random.chance(0.3) ? `hk-${client.id}-${randomUUID()}` : '';
  await sendTurn(ctx, client, 'regenerate', {
    story,
    path: `/api/stories/${story.id}/regenerate`,
    body: fromSceneId ? { fromSceneId } : {},
    key,
    expectedParentId: undefined,
    expectedChoice: undefined,
  });
}

/** Counts a rewind's effect on the version: acknowledged, or unknown when no answer came back. */
function countRewind(story: KnownStory, result: ApiResult, verdict: string): void {
  if (result.status === 200) {
    story.rewindsAcknowledged++;
    story.headSceneId = result.body?.scene?.id ?? story.headSceneId;
  } else if (verdict === 'killed' || result.transport || result.status >= 500) {
    story.rewindsUnknown++;
  }
  if (result.errorCode === 'turn_conflict') story.headSceneId = result.body?.error?.headSceneId ?? story.headSceneId;
}

export async function undo(ctx: ClientContext, client: ClientState): Promise<void> {
  const story = pickStory(ctx, client.random, (s) => s.headSceneId !== null);
  if (!story) return;
  const result = await callApi(ctx.pickTarget(client.random), { method: 'POST', path: `/api/stories/${story.id}/undo`, json: {}, timeoutMs: ctx.timeouts.otherMs });
  // 400: nothing to undo at the opening scene.
  countRewind(story, result, judge(ctx, 'undo', result, ['200', '409:turn_conflict', '400:validation', '409:story_archived']));
}

export async function rewind(ctx: ClientContext, client: ClientState): Promise<void> {
  const story = pickStory(ctx, client.random, (s) => s.headSceneId !== null);
  if (!story) return;
  const tree = await callApi(ctx.pickTarget(client.random), { method: 'GET', path: `/api/stories/${story.id}/scenes`, timeoutMs: ctx.timeouts.otherMs });
  if (judge(ctx, 'scene-tree', tree, ['200']) !== 'ok') return;
  checkTreeAnswer(ctx, story, tree);
  const scenes = (tree.body?.scenes ?? []) as { id: string }[];
  if (scenes.length === 0) return;
  const version = client.random.chance(0.3) ? (tree.body.version as number) : undefined;
  const result = await callApi(ctx.pickTarget(client.random), {
    method: 'POST',
    path: `/api/stories/${story.id}/rewind`,
    json: { toSceneId: client.random.pick(scenes).id, ...(version === undefined ? {} : { version }) },
    timeoutMs: ctx.timeouts.otherMs,
  });
  countRewind(story, result, judge(ctx, 'rewind', result, ['200', '409:turn_conflict', '412:version_conflict', '409:story_archived']));
}

/** The tree answer must mark a head path that runs 1, 2, … n from the opening to the head. */
function checkTreeAnswer(ctx: ClientContext, story: KnownStory, tree: ApiResult): void {
  const scenes = (tree.body?.scenes ?? []) as { id: string; parentSceneId: string | null; sceneNumber: number; onHeadPath: boolean }[];
  const onPath = scenes.filter((s) => s.onHeadPath).sort((a, b) => a.sceneNumber - b.sceneNumber);
  const linear = onPath.every((s, i) => s.sceneNumber === i + 1 && (i === 0 ? s.parentSceneId === null : s.parentSceneId === onPath[i - 1]!.id));
  const endsAtHead = tree.body?.headSceneId === null ? onPath.length === 0 : onPath.at(-1)?.id === tree.body?.headSceneId;
  if (!linear || !endsAtHead) ctx.violations.add('API scene tree head path not linear', `story ${story.id}: ${onPath.map((s) => s.sceneNumber).join(',')}`);
}

async function knownCharacter(ctx: ClientContext, client: ClientState, story: KnownStory): Promise<string | undefined> {
  if (story.characterIds.length === 0 || client.random.chance(0.2)) {
    const result = await callApi(ctx.pickTarget(client.random), { method: 'GET', path: `/api/stories/${story.id}/characters`, timeoutMs: ctx.timeouts.otherMs });
    if (judge(ctx, 'list-characters', result, ['200']) === 'ok') {
      ctx.book.sawCharacters(story.id, ((result.body?.characters ?? []) as { id: string }[]).map((c) => c.id));
    }
  }
  return story.characterIds.length > 0 ? client.random.pick(story.characterIds) : undefined;
}

export async function talk(ctx: ClientContext, client: ClientState): Promise<void> {
  const story = pickStory(ctx, client.random, (s) => s.headSceneId !== null);
  const characterId = story && (await knownCharacter(ctx, client, story));
  if (!characterId) return;
  const result = await callApi(ctx.pickTarget(client.random), {
    method: 'POST',
    path: `/api/characters/${characterId}/talk`,
    json: { message: client.random.pick(['Who are you?', 'What happened to the boats?', 'Do you trust me?']) },
    timeoutMs: ctx.timeouts.turnMs,
  });
  judge(ctx, 'talk', result, ['200', '409:story_archived'], { callsModel: true });
}

export async function editCharacter(ctx: ClientContext, client: ClientState): Promise<void> {
  const story = pickStory(ctx, client.random, (s) => s.headSceneId !== null);
  const characterId = story && (await knownCharacter(ctx, client, story));
  if (!characterId) return;
  const read = await callApi(ctx.pickTarget(client.random), { method: 'GET', path: `/api/characters/${characterId}`, timeoutMs: ctx.timeouts.otherMs });
  // 404 is the right answer when the story has since moved to a branch where they were never met.
  if (judge(ctx, 'get-character', read, ['200', '404:not_found']) !== 'ok' || read.status !== 200) return;
  const version = Number(/\d+/.exec(read.headers?.get('etag') ?? '')?.[0]);
  const stale = version > 0 && client.random.chance(0.15);
  // A rename to another spelling of a cast name races the unique (story, name_key) index.
  const patch = client.random.chance(0.2)
    ? { name: client.random.pick(['Mara Vell', 'Old Tom', 'Bram', 'Hammer Renamed']) }
    : { mood: client.random.pick(['calm', 'afraid', 'hopeful']), description: `edited by client ${client.id}` };
  const result = await callApi(ctx.pickTarget(client.random), {
    method: 'PATCH',
    path: `/api/characters/${characterId}`,
    json: patch,
    headers: { 'if-match': `"${stale ? version - 1 : version}"` },
    timeoutMs: ctx.timeouts.otherMs,
  });
  // 404 again when a rewind took the head, between the read and the edit, to where they were never met.
  judge(ctx, stale ? 'edit-stale' : 'edit-character', result, stale ? ['412:version_conflict', '409:story_archived', '404:not_found'] : ['200', '412:version_conflict', '400:validation', '409:story_archived', '404:not_found']);
  if (stale && result.status === 200) ctx.violations.add('stale If-Match accepted', `character ${characterId} version ${version - 1}`);
}

export async function importStory(ctx: ClientContext, client: ClientState): Promise<void> {
  const story = pickStory(ctx, client.random, (s) => !s.hot && s.headSceneId !== null);
  if (!story) return;
  const exported = await callApi(ctx.pickTarget(client.random), { method: 'GET', path: `/api/stories/${story.id}/export?format=json`, timeoutMs: ctx.timeouts.otherMs });
  if (judge(ctx, 'export', exported, ['200']) !== 'ok') return;
  const result = await callApi(ctx.pickTarget(client.random), {
    method: 'POST',
    path: '/api/import?filename=hammer.json',
    rawBody: JSON.stringify(exported.body),
    contentType: 'application/json',
    timeoutMs: ctx.timeouts.otherMs,
  });
  if (judge(ctx, 'import', result, ['201']) !== 'ok') return;
  const imported = result.body?.story;
  if (typeof imported?.id !== 'string') return void ctx.violations.add('import 201 without a story', JSON.stringify(result.body).slice(0, 300));
  ctx.book.add({ id: imported.id, title: imported.title, hot: false, imported: true, headSceneId: imported.headSceneId ?? null });
}

export async function createStory(ctx: ClientContext, client: ClientState, hot = false): Promise<KnownStory | undefined> {
  const title = ctx.book.nextTitle(hot ? 'hot' : 'cold');
  const result = await callApi(ctx.pickTarget(client.random), {
    method: 'POST',
    path: '/api/stories',
    json: { title, setting: 'A harbour town in fog, where boats go missing' },
    timeoutMs: ctx.timeouts.turnMs,
  });
  if (judge(ctx, 'create-story', result, ['201'], { callsModel: true }) !== 'ok') return undefined;
  const { story, scene } = result.body ?? {};
  if (typeof story?.id !== 'string' || typeof scene?.id !== 'string') {
    ctx.violations.add('create 201 without story and scene', JSON.stringify(result.body).slice(0, 300));
    return undefined;
  }
  const known = ctx.book.add({ id: story.id, title, hot, imported: false, headSceneId: scene.id });
  ctx.book.acknowledged.push({ storyId: story.id, sceneId: scene.id, op: 'create-story', expectedParentId: undefined, expectedChoice: undefined, idempotencyKey: undefined, incarnation: result.target.name });
  return known;
}

export async function read(ctx: ClientContext, client: ClientState): Promise<void> {
  const story = pickStory(ctx, client.random);
  if (!story) return;
  const result = await callApi(ctx.pickTarget(client.random), { method: 'GET', path: `/api/stories/${story.id}`, timeoutMs: ctx.timeouts.otherMs });
  if (judge(ctx, 'read-story', result, ['200']) !== 'ok') return;
  const { story: body, scene } = result.body ?? {};
  if (body?.headSceneId && scene?.id !== body.headSceneId) ctx.violations.add('GET story head and scene disagree', `story ${story.id}`);
  ctx.book.sawHead(story.id, body?.headSceneId);
}

/** Bad requests of every kind: each must be a 4xx with a JSON error code, never a 5xx. */
export async function invalidInput(ctx: ClientContext, client: ClientState): Promise<void> {
  const story = pickStory(ctx, client.random, (s) => s.headSceneId !== null);
  if (!story) return;
  const characterId = story.characterIds[0] ?? randomUUID();
  const turns = `/api/stories/${story.id}/turns`;
  const cases: { name: string; method: 'GET' | 'POST' | 'PATCH'; path: string; json?: unknown; rawBody?: string; contentType?: string; headers?: Record<string, string>; expected: string[] }[] = [
    { name: 'choice 0', method: 'POST', path: turns, json: { choice: 0 }, expected: ['400:validation'] },
    { name: 'choice text', method: 'POST', path: turns, json: { choice: 'two' }, expected: ['400:validation'] },
    { name: 'choice 7 of 3', method: 'POST', path: turns, json: { choice: 7, fromSceneId: story.headSceneId }, expected: ['400:validation', '409:turn_conflict'] },
    { name: 'bad fromSceneId', method: 'POST', path: turns, json: { choice: 1, fromSceneId: 'nope' }, expected: ['400:validation'] },
    { name: 'unknown fromSceneId', method: 'POST', path: turns, json: { choice: 1, fromSceneId: randomUUID() }, expected: ['409:turn_conflict', '404:not_found', '400:validation'] },
    { name: 'bad key', method: 'POST', path: turns, json: { choice: 1 }, headers: { 'idempotency-key': 'has spaces in it' }, expected: ['400:validation'] },
    { name: 'long instruction', method: 'POST', path: turns, json: { choice: 1, instruction: 'x'.repeat(2001) }, expected: ['400:validation'] },
    { name: 'broken JSON', method: 'POST', path: turns, rawBody: '{"choice":', contentType: 'application/json', expected: ['400:validation'] },
    { name: 'no such story', method: 'POST', path: `/api/stories/${randomUUID()}/turns`, json: { choice: 1 }, expected: ['404:not_found'] },
    { name: 'malformed story id', method: 'GET', path: '/api/stories/not-a-uuid', expected: ['404:not_found'] },
    { name: 'patch without If-Match', method: 'PATCH', path: `/api/characters/${characterId}`, json: { mood: 'x' }, expected: ['400:validation', '404:not_found'] },
    { name: 'patch unknown field', method: 'PATCH', path: `/api/characters/${characterId}`, json: { version: 3 }, headers: { 'if-match': '"1"' }, expected: ['400:validation', '404:not_found'] },
    { name: 'empty talk', method: 'POST', path: `/api/characters/${characterId}/talk`, json: { message: '  ' }, expected: ['400:validation', '404:not_found'] },
    { name: 'rewind to unknown scene', method: 'POST', path: `/api/stories/${story.id}/rewind`, json: { toSceneId: randomUUID() }, expected: ['404:not_found', '409:turn_conflict'] },
    { name: 'rewind to non-uuid', method: 'POST', path: `/api/stories/${story.id}/rewind`, json: { toSceneId: 'x' }, expected: ['400:validation'] },
    { name: 'import garbage', method: 'POST', path: '/api/import', rawBody: 'not a story at all', contentType: 'text/plain', expected: ['400:validation', '422:unprocessable'] },
    { name: 'empty title', method: 'POST', path: '/api/stories', json: { title: '', setting: 'x' }, expected: ['400:validation'] },
  ];
  const chosen = client.random.pick(cases);
  const result = await callApi(ctx.pickTarget(client.random), { ...chosen, timeoutMs: ctx.timeouts.otherMs });
  judge(ctx, `invalid:${chosen.name}`, result, chosen.expected, { invalidInput: true });
}
