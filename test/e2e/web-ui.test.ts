import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { createServerTestDatabase, type TestServerDatabase } from '../helpers/db.js';
import { startServeProcess, type ServeProcess } from '../server/serve-process.js';
import { launchBrowser, screenshotPath } from './browser.js';

let database: TestServerDatabase;
let serve: ServeProcess;
let browser: { context: BrowserContext; close: () => Promise<void> };
let page: Page;
const problems: string[] = [];

beforeAll(async () => {
  database = await createServerTestDatabase({ poolSize: 2 });
  // A scene takes about 2 s to write, so that streaming can be watched even on a busy machine.
  serve = await startServeProcess({ env: { DATABASE_URL: database.url, LIVINGWORLD_OFFLINE_LATENCY_MS: '2000' } });
  browser = await launchBrowser();
  page = browser.context.pages()[0] ?? (await browser.context.newPage());
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
});

afterAll(async () => {
  await browser?.close();
  await serve?.stop();
  await database?.drop();
});

async function sceneState() {
  // A string, evaluated in the page: this test program has no DOM types.
  return page.evaluate<{ streaming: boolean; length: number; id: string; number: string }>(`(() => {
    const scene = document.getElementById('scene');
    return { streaming: scene.dataset.streaming === 'true', length: scene.textContent.length, id: scene.dataset.sceneId ?? '', number: document.getElementById('scene-number').textContent };
  })()`);
}

/** Clicks, then samples the scene text until the stream ends: returns the lengths seen while streaming. */
async function watchStream(click: () => Promise<void>, shot?: string): Promise<{ lengths: number[]; finalId: string }> {
  const before = await sceneState();
  await click();
  const lengths: number[] = [];
  const deadline = Date.now() + 20_000;
  let shotTaken = false;
  for (;;) {
    const state = await sceneState();
    if (state.streaming) {
      lengths.push(state.length);
      if (shot && !shotTaken && state.length > 80) {
        await page.screenshot({ path: screenshotPath(shot) });
        shotTaken = true;
      }
    } else if (state.id !== before.id && lengths.length > 0) {
      return { lengths, finalId: state.id };
    }
    if (Date.now() > deadline) throw new Error(`the scene did not finish streaming; last state ${JSON.stringify(state)}`);
    await page.waitForTimeout(50);
  }
}

function expectGrowing(lengths: number[]): void {
  const distinct = [...new Set(lengths.filter((n) => n > 0))];
  // Two different lengths seen while still streaming: the text grew before the scene was complete.
  expect(distinct.length, `text lengths seen while streaming: ${lengths.join(',')}`).toBeGreaterThanOrEqual(2);
  expect([...distinct].sort((a, b) => a - b)).toEqual(distinct);
}

describe('web UI in Chromium against a running `livingworld serve`', () => {
  it('creates a story, streams three turns, shows characters, regenerates, undoes and rewinds from the story map', async () => {
    await page.goto(serve.url);
    await page.locator('#home').waitFor();
    await expect(page.locator('#offline-label')).toBeTruthyVisible();
    expect(await page.locator('#provider').textContent()).toContain('offline storyteller');
    await page.screenshot({ path: screenshotPath('01-home') });

    // Prose and titles are text, never markup.
    const title = 'The <b>Lantern</b> <img src=x onerror="window.pwned=1"> Keeper';
    await page.fill('#new-title', title);
    await page.fill('#new-setting', 'A fishing town where the lighthouse keeper has vanished. You are his apprentice.');
    await page.click('#create-story');
    await page.waitForURL(/#\/story\//, { timeout: 20_000 });
    await page.locator('.choice').first().waitFor();
    expect(await page.locator('#story-title').textContent()).toBe(title);
    expect(await page.locator('#story-title img, #story-title b').count()).toBe(0);
    expect(await page.evaluate('window.pwned')).toBeUndefined();
    await page.screenshot({ path: screenshotPath('02-opening-scene') });

    for (let turn = 1; turn <= 3; turn++) {
      if (turn === 2) await page.fill('#instruction', 'ask about the lamp');
      const { lengths } = await watchStream(() => page.click(`.choice[data-choice="${turn}"]`), turn === 1 ? '03-streaming' : undefined);
      expectGrowing(lengths);
      expect((await sceneState()).number).toBe(`Scene ${turn + 1}`);
      await page.screenshot({ path: screenshotPath(`04-turn-${turn}`) });
    }

    await page.click('#show-characters');
    await page.locator('.character').first().waitFor();
    await page.check('#thoughts-toggle');
    await page.locator('#thoughts h3').waitFor();
    await page.locator('#characters-panel[data-thoughts="true"] .character').first().waitFor();
    await page.locator('.character .mood').first().waitFor();
    const firstCharacter = page.locator('.character').first();
    await firstCharacter.locator('.talk-input').fill('What happened to the <i>lamp</i>?');
    await firstCharacter.locator('.talk button').click();
    await firstCharacter.locator('.talk-replies .reply').waitFor();
    expect(await firstCharacter.locator('.talk-replies i').count()).toBe(0);
    await page.screenshot({ path: screenshotPath('05-characters') });

    const beforeRegenerate = await sceneState();
    const regenerated = await watchStream(() => page.click('#regenerate'));
    expectGrowing(regenerated.lengths);
    expect(regenerated.finalId).not.toBe(beforeRegenerate.id);
    expect((await sceneState()).number).toBe('Scene 4');
    await page.screenshot({ path: screenshotPath('06-regenerated') });

    await page.click('#undo');
    await page.locator('#scene-number', { hasText: /^Scene 3$/ }).waitFor();
    await page.screenshot({ path: screenshotPath('07-undone') });

    await page.click('#show-map');
    await page.locator('svg.story-map .map-node').first().waitFor();
    // Scenes 1–4 plus the regenerated sibling of scene 4.
    expect(await page.locator('svg.story-map .map-node').count()).toBe(5);
    await page.screenshot({ path: screenshotPath('08-story-map') });
    await page.locator('svg.story-map .map-node[data-scene-number="1"]').click();
    await page.locator('#scene-number', { hasText: /^Scene 1$/ }).waitFor();
    await page.locator('svg.story-map .map-node.head[data-scene-number="1"]').waitFor();

    await page.click('#show-graph');
    await page.locator('svg.relationship-graph').waitFor();
    await page.screenshot({ path: screenshotPath('09-relationships') });

    expect(problems).toEqual([]);
  });
});

declare module 'vitest' {
  interface Assertion {
    toBeTruthyVisible(): Promise<void>;
  }
}
expect.extend({
  async toBeTruthyVisible(received: { isVisible: () => Promise<boolean> }) {
    const visible = await received.isVisible();
    return { pass: visible, message: () => `expected the element to be visible` };
  },
});
