import { createHash, randomUUID } from 'node:crypto';
import { callApi, type ApiRequest, type ApiResult } from './api-client.js';
import { judge, type Verdict } from './judge-result.js';
import type { ClientContext, ClientState } from './client-ops.js';
import type { KnownStory } from './story-book.js';

/**
 * The operations at the edges of the protocol: keyed writes retried with their key whenever
 * their outcome is unknown (each leaves a marker the checker counts, so a duplicate effect
 * shows), clients that leave mid-turn, and archives while turns are in flight.
 */

const retriesPerWrite = 4;

/** Outcome unknown: the write may have landed, so a client must send it again with its key. */
function outcomeUnknown(verdict: Verdict, result: ApiResult): boolean {
  return verdict === 'killed' || result.errorCode === 'database_unavailable' || result.errorCode === 'shutting_down';
}

/**
 * Sends a keyed write, and sends it again with the same key (to any live process) while its
 * outcome is unknown. Records the write for the duplicate-effect check.
 */
async function keyedWrite(
  ctx: ClientContext,
  client: ClientState,
  op: string,
  request: Omit<ApiRequest, 'headers' | 'timeoutMs'>,
  expected: string[],
  marker: { kind: 'create-story' | 'import' | 'talk'; text: string; storyId?: string },
  options: { callsModel?: boolean; timeoutMs: number },
): Promise<ApiResult> {
  const key = `hk-${client.id}-${randomUUID()}`;
  const write = { ...marker, key, attempts: 0, acknowledged: false };
  ctx.book.keyedWrites.push(write);
  let result: ApiResult | undefined;
  for (let attempt = 0; attempt <= retriesPerWrite; attempt++) {
    write.attempts++;
    result = await callApi(ctx.pickTarget(client.random), { ...request, headers: { 'idempotency-key': key }, timeoutMs: options.timeoutMs });
    const verdict = judge(ctx, attempt === 0 ? op : `${op}-retry`, result, expected, options.callsModel ? { callsModel: true } : {});
    if (!outcomeUnknown(verdict, result)) break;
  }
  write.acknowledged = result!.status >= 200 && result!.status < 300;
  return result!;
}

function pickStory(ctx: ClientContext, client: ClientState, predicate: (s: KnownStory) => boolean): KnownStory | undefined {
  const stories = [...ctx.book.stories.values()].filter(predicate);
  return stories.length > 0 ? client.random.pick(stories) : undefined;
}

/** A new story under a key: at most one story may carry its title. */
export async function createStoryKeyed(ctx: ClientContext, client: ClientState): Promise<void> {
  const title = ctx.book.nextTitle('keyed');
  const result = await keyedWrite(
    ctx,
    client,
    'create-story-keyed',
    { method: 'POST', path: '/api/stories', json: { title, setting: 'A harbour town in fog, where boats go missing' } },
    ['201'],
    { kind: 'create-story', text: title },
    { callsModel: true, timeoutMs: ctx.timeouts.turnMs },
  );
  const { story, scene } = result.body ?? {};
  if (result.status === 201 && typeof story?.id === 'string') ctx.book.add({ id: story.id, title, hot: false, imported: false, headSceneId: scene?.id ?? null });
}

/** An import under a key, its title made unique: at most one story may carry it. */
export async function importKeyed(ctx: ClientContext, client: ClientState): Promise<void> {
  const source = pickStory(ctx, client, (s) => !s.hot && s.headSceneId !== null);
  if (!source) return;
  const exported = await callApi(ctx.pickTarget(client.random), { method: 'GET', path: `/api/stories/${source.id}/export?format=json`, timeoutMs: ctx.timeouts.otherMs });
  if (judge(ctx, 'export', exported, ['200']) !== 'ok') return;
  const title = ctx.book.nextTitle('imported');
  const file = JSON.stringify({ ...exported.body, story: { ...exported.body.story, title } });
  const result = await keyedWrite(
    ctx,
    client,
    'import-keyed',
    { method: 'POST', path: '/api/import?filename=hammer.json', rawBody: file, contentType: 'application/json' },
    ['201'],
    // Copies of the imported story (other clients export and import it) come from other files.
    { kind: 'import', text: createHash('sha256').update(file).digest('hex') },
    { timeoutMs: ctx.timeouts.otherMs },
  );
  const imported = result.body?.story;
  if (result.status === 201 && typeof imported?.id === 'string') ctx.book.add({ id: imported.id, title, hot: false, imported: true, headSceneId: imported.headSceneId ?? null });
}

/** A talk under a key, its message marked: at most one conversation memory may carry the mark. */
export async function talkKeyed(ctx: ClientContext, client: ClientState): Promise<void> {
  const story = pickStory(ctx, client, (s) => s.headSceneId !== null && s.characterIds.length > 0);
  if (!story) return;
  const mark = `[mark ${randomUUID().slice(0, 13)}]`;
  await keyedWrite(
    ctx,
    client,
    'talk-keyed',
    { method: 'POST', path: `/api/characters/${client.random.pick(story.characterIds)}/talk`, json: { message: `What do you know? ${mark}` } },
    ['200', '404:not_found', '409:story_archived'],
    { kind: 'talk', text: mark, storyId: story.id },
    { callsModel: true, timeoutMs: ctx.timeouts.turnMs },
  );
}

/**
 * A client that asks for a turn and goes away before the answer (100–1500 ms). Nothing is
 * judged here: whoever else waits for the turn must still get it, from one model call.
 */
export async function leaveMidTurn(ctx: ClientContext, client: ClientState): Promise<void> {
  const story = pickStory(ctx, client, (s) => s.hot && s.headSceneId !== null);
  if (!story) return;
  const target = ctx.pickTarget(client.random);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 100 + client.random.int(1_400));
  const started = Date.now();
  const outcome = await fetch(`${target.url}/api/stories/${story.id}/turns`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    // The same request as the most common advance, so that it is often joined (or joins).
    body: JSON.stringify({ choice: 1 }),
    signal: controller.signal,
  }).then(
    async (response) => {
      await response.arrayBuffer();
      return String(response.status);
    },
    () => 'left',
  );
  clearTimeout(timer);
  ctx.stats.record('leave-mid-turn', outcome, Date.now() - started);
  if (outcome === 'left') ctx.book.leftMidTurn++;
}

/**
 * Archives a story while turns may be in flight (409 turn_conflict names the turn), holds it
 * archived a moment, and makes it playable again. No scene may be written while it is archived.
 */
export async function archiveDuringTurn(ctx: ClientContext, client: ClientState): Promise<void> {
  const story = pickStory(ctx, client, (s) => !s.hot && !s.imported && s.headSceneId !== null && !s.archiving);
  if (!story) return;
  story.archiving = true;
  try {
    await archiveAndRestore(ctx, client, story);
  } finally {
    story.archiving = false;
  }
}

async function archiveAndRestore(ctx: ClientContext, client: ClientState, story: KnownStory): Promise<void> {
  const target = ctx.pickTarget(client.random);
  const archived = await callApi(target, { method: 'PATCH', path: `/api/stories/${story.id}`, json: { status: 'archived' }, timeoutMs: ctx.timeouts.otherMs });
  const verdict = judge(ctx, 'archive', archived, ['200', '409:turn_conflict']);
  // A status change moves the story's version like a rewind does (see checkVersions).
  const unknown = verdict === 'killed' || archived.errorCode === 'database_unavailable' || archived.errorCode === 'shutting_down';
  if (archived.status === 200) story.rewindsAcknowledged++;
  else if (unknown) story.rewindsUnknown++;
  else return;
  const fromMs = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 200 + client.random.int(600)));
  const toMs = Date.now();
  if (archived.status === 200) ctx.book.archiveWindows.push({ storyId: story.id, fromMs, toMs });
  // Unarchive until it is heard: the story must not stay archived for the rest of the run.
  for (let attempt = 0; attempt < 5; attempt++) {
    const active = await callApi(ctx.pickTarget(client.random), { method: 'PATCH', path: `/api/stories/${story.id}`, json: { status: 'active' }, timeoutMs: ctx.timeouts.otherMs });
    if (judge(ctx, 'unarchive', active, ['200']) === 'ok') {
      // After an archive of unknown outcome the story may have been active all along: no change then.
      if (archived.status === 200) story.rewindsAcknowledged++;
      else story.rewindsUnknown++;
      return;
    }
    // The status may or may not have changed; the next attempt changes it at most once more.
    story.rewindsUnknown++;
  }
}
