import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { createServerTestDatabase, type TestServerDatabase } from '../helpers/db.js';
import { createToken, ensureUser } from '../../src/server/access/access-repo.js';
import { startServeProcess, type ServeProcess } from '../server/serve-process.js';
import { call } from '../server/test-server.js';
import { launchBrowser, screenshotPath } from './browser.js';

let database: TestServerDatabase;
let serve: ServeProcess;
const browsers: Awaited<ReturnType<typeof launchBrowser>>[] = [];
const tokens: Record<string, string> = {};

beforeAll(async () => {
  database = await createServerTestDatabase({ poolSize: 2 });
  for (const name of ['alice', 'bob']) tokens[name] = (await createToken(database.db, (await ensureUser(database.db, name)).id)).token;
  serve = await startServeProcess({ env: { DATABASE_URL: database.url, LIVINGWORLD_OFFLINE_LATENCY_MS: '1000' } });
});
afterAll(async () => {
  await Promise.all(browsers.map((b) => b.close()));
  await serve?.stop();
  await database?.drop();
});

async function openAs(name: string, storyId: string): Promise<Page> {
  const browser = await launchBrowser();
  browsers.push(browser);
  const page = browser.context.pages()[0] ?? (await browser.context.newPage());
  await page.goto(`${serve.url}/#/story/${storyId}&token=${encodeURIComponent(tokens[name]!)}`);
  await page.locator('.choice').first().waitFor();
  return page;
}

const sceneOf = (page: Page) =>
  page.evaluate<{ id: string; number: string; notice: string; noticeHidden: boolean; busy: string }>(`(() => ({
    id: document.querySelector('#transcript .scene.head').dataset.sceneId,
    number: document.getElementById('scene-number').textContent,
    notice: document.getElementById('notice').textContent,
    noticeHidden: document.getElementById('notice').hidden,
    busy: document.getElementById('story').dataset.busy,
  }))()`);

describe('a shared story with two players in two browsers', () => {
  it('two players choosing at the same moment get one scene; both see it; the loser is told the story moved on', async () => {
    const auth = (name: string) => ({ authorization: `Bearer ${tokens[name]}` });
    const created = await call(serve.url, 'POST', '/api/stories', { title: 'The Night Market', setting: 'A market that opens only at midnight.' }, auth('alice'));
    expect(created.status).toBe(201);
    const storyId = created.body.story.id as string;
    const openingId = created.body.scene.id as string;
    // Bob cannot see the story until Alice invites him from her page.
    expect((await call(serve.url, 'GET', `/api/stories/${storyId}`, undefined, auth('bob'))).status).toBe(404);
    const alice = await openAs('alice', storyId);
    await alice.locator('#share summary').click();
    await alice.fill('#share-user', 'bob');
    await alice.selectOption('#share-role', 'player');
    await alice.click('#share-form button');
    await alice.locator('#members li', { hasText: 'bob · player' }).waitFor();
    const bob = await openAs('bob', storyId);
    expect(await bob.locator('#share').isVisible()).toBe(false);
    // The token left the address bar once stored.
    expect(alice.url()).not.toContain('token=');

    await Promise.all([alice.click('.choice[data-choice="1"]'), bob.click('.choice[data-choice="2"]')]);
    const settled = async (page: Page) => {
      await page.locator('#scene-number', { hasText: /^Scene 2$/ }).waitFor({ timeout: 20_000 });
      await page.locator('#story[data-busy="false"]').waitFor({ timeout: 20_000 });
      return sceneOf(page);
    };
    const [a, b] = await Promise.all([settled(alice), settled(bob)]);
    await alice.screenshot({ path: screenshotPath('shared-alice') });
    await bob.screenshot({ path: screenshotPath('shared-bob') });

    expect(a.id).toBe(b.id);
    const told = [a, b].filter((s) => !s.noticeHidden && s.notice.includes('The story moved on'));
    expect(told).toHaveLength(1);
    const { rows } = await database.db.query<{ id: string }>('SELECT id FROM scenes WHERE story_id = $1 AND parent_scene_id = $2', [storyId, openingId]);
    expect(rows.map((r) => r.id)).toEqual([a.id]);

    // A turn by one player appears on the other's page without any click there.
    const loser = told[0] === a ? alice : bob;
    const winner = loser === alice ? bob : alice;
    await winner.click('.choice[data-choice="3"]');
    await loser.locator('#scene-number', { hasText: /^Scene 3$/ }).waitFor({ timeout: 20_000 });
    await winner.locator('#scene-number', { hasText: /^Scene 3$/ }).waitFor({ timeout: 20_000 });
    await winner.locator('#story[data-busy="false"]').waitFor({ timeout: 20_000 });
    expect((await sceneOf(loser)).id).toBe((await sceneOf(winner)).id);
    await loser.screenshot({ path: screenshotPath('shared-live-update') });
  });
});
