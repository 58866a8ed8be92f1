import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServerTestDatabase, type TestServerDatabase } from '../helpers/db.js';
import { collectEvents, startServeProcess, type ServeProcess } from './serve-process.js';
import { call } from './test-server.js';
import { startLostReplyProxy, type LostReplyProxy } from '../../scripts/hammer/lost-reply-proxy.js';

// A watches through a proxy whose connections (its LISTEN connection among them) can be cut;
// B writes. Whatever is committed while A's LISTEN is down must still reach A's watchers.
let database: TestServerDatabase;
let proxy: LostReplyProxy;
let a: ServeProcess;
let b: ServeProcess;

beforeAll(async () => {
  database = await createServerTestDatabase({ poolSize: 2 });
  proxy = await startLostReplyProxy(database.url);
  const env = { LIVINGWORLD_TURN_RATE_LIMIT: '1000' };
  [a, b] = await Promise.all([
    startServeProcess({ env: { ...env, DATABASE_URL: proxy.url }, startTimeoutMs: 90_000 }),
    startServeProcess({ env: { ...env, DATABASE_URL: database.url }, startTimeoutMs: 90_000 }),
  ]);
}, 200_000);
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await proxy?.close();
  await database?.drop();
});

type Versioned = { event: string; data: { version?: number; headSceneId?: string; scene?: { id: string } } };

/** Every scene/head event is the next version; only a resync may jump. None is silently skipped. */
function expectNoSilentSkip(events: Versioned[], fromVersion: number): number {
  let shown = fromVersion;
  for (const e of events) {
    if (!['scene', 'head', 'resync'].includes(e.event)) continue;
    const version = e.data.version!;
    if (e.event === 'resync') expect(version).toBeGreaterThan(shown);
    else expect(version).toBe(shown + 1);
    shown = version;
  }
  return shown;
}

describe('event streams never silently skip', () => {
  it('after the LISTEN connection is cut, a stream sends what it missed before newer events', async () => {
    const created = await call(b.url, 'POST', '/api/stories', { title: 'Signals', setting: 'A radio mast on a hill.' });
    const storyId = created.body.story.id as string;
    const watcher = collectEvents(`${a.url}/api/stories/${storyId}/events`);
    try {
      const ready = (await watcher.waitFor((e) => e.event === 'ready')).data as { version: number };
      // LISTEN is down, and cannot come back for 1.5 s: the turns below commit meanwhile.
      proxy.refuseConnectionsFor(1_500);
      proxy.cutAll();
      for (let turn = 0; turn < 2; turn++) expect((await call(b.url, 'POST', `/api/stories/${storyId}/turns`, { choice: 1 })).status).toBe(201);
      const head = (await call(b.url, 'GET', `/api/stories/${storyId}`)).body.story;
      await watcher.waitFor((e) => ['scene', 'resync'].includes(e.event) && (e.data as { version: number }).version === head.version, 15_000);
      // And later events follow on from the catch-up.
      const next = await call(b.url, 'POST', `/api/stories/${storyId}/turns`, { choice: 2 });
      await watcher.waitFor((e) => e.event === 'scene' && (e.data as { sceneId: string }).sceneId === next.body.scene.id, 10_000);
      expect(expectNoSilentSkip(watcher.events as Versioned[], ready.version)).toBe(head.version + 1);
      expect(watcher.events.some((e) => e.event === 'resync')).toBe(true);
    } finally {
      await watcher.stop();
    }
  });

  it('a client reconnecting with Last-Event-ID gets a resync to the current head', async () => {
    const created = await call(b.url, 'POST', '/api/stories', { title: 'Behind', setting: 'A lighthouse keeper back from leave.' });
    const storyId = created.body.story.id as string;
    const seen = created.body.story.version as number;
    for (let turn = 0; turn < 2; turn++) await call(b.url, 'POST', `/api/stories/${storyId}/turns`, { choice: 1 });
    const head = (await call(b.url, 'GET', `/api/stories/${storyId}`)).body.story;
    const watcher = collectEvents(`${a.url}/api/stories/${storyId}/events`, { 'last-event-id': String(seen) });
    try {
      const resync = await watcher.waitFor((e) => e.event === 'resync');
      expect(resync.data).toMatchObject({ version: head.version, headSceneId: head.headSceneId, scene: { id: head.headSceneId } });
      // Up to date already: no resync.
      const current = collectEvents(`${a.url}/api/stories/${storyId}/events`, { 'last-event-id': String(head.version) });
      await current.waitFor((e) => e.event === 'ready');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(current.events.map((e) => e.event)).toEqual(['ready']);
      await current.stop();
    } finally {
      await watcher.stop();
    }
  });
});
