import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { createServerTestDatabase, type TestServerDatabase } from '../helpers/db.js';
import { runCli } from '../helpers/cli.js';
import { startServeProcess, type ServeProcess } from '../server/serve-process.js';
import { call } from '../server/test-server.js';
import { launchBrowser, screenshotPath } from './browser.js';
import { addCrowd } from './crowd-archive.js';

let database: TestServerDatabase;
let serve: ServeProcess;
let browser: { context: BrowserContext; close: () => Promise<void> };
let page: Page;
const problems: string[] = [];
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-web-ui-'));

beforeAll(async () => {
  database = await createServerTestDatabase({ poolSize: 2 });
  // No provider latency: the offline storyteller writes a scene at once, and only the pace
  // the reader picks in the settings spreads it out.
  serve = await startServeProcess({ env: { DATABASE_URL: database.url } });
  browser = await launchBrowser();
  page = browser.context.pages()[0] ?? (await browser.context.newPage());
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  await page.goto(serve.url);
  await page.locator('#home').waitFor();
});

afterAll(async () => {
  await browser?.close();
  await serve?.stop();
  await database?.drop();
  fs.rmSync(scratch, { recursive: true, force: true });
});

const api = (method: string, route: string, body?: unknown) => call(serve.url, method, route, body);
const cli = async (...args: string[]) => {
  const result = await runCli([...args, '--json'], { env: { DATABASE_URL: database.url, LLM_PROVIDER: 'offline' } });
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout);
};
const shot = (name: string, options: { fullPage?: boolean } = {}) => page.screenshot({ path: screenshotPath(name), ...options });

/** The head path as the API has it: scene ids and prose, first to last. */
async function headPath(storyId: string): Promise<{ id: string; content: string; choiceNumber: number | null; instruction: string | null }[]> {
  const tree = (await api('GET', `/api/stories/${storyId}/scenes?content=1`)).body;
  const byId = new Map<string, any>(tree.scenes.map((s: any) => [s.id, s]));
  const path = [];
  for (let at = byId.get(tree.headSceneId); at; at = byId.get(at.parentSceneId)) path.unshift(at);
  return path;
}

const storyIdOf = () => /#\/story\/([0-9a-f-]{36})/.exec(page.url())![1]!;

/** Waits until the story shows scene `number` at its head, fully written, and the page is idle. */
async function waitForHead(number: number) {
  await page.locator(`#transcript .scene.head[data-scene-number="${number}"][data-streaming="false"]`).waitFor({ timeout: 30_000 });
  await page.locator('#story[data-busy="false"]').waitFor({ timeout: 30_000 });
}

async function setPreferences({ pace, thoughts }: { pace?: string; thoughts?: boolean }) {
  await page.click('#open-settings');
  await page.locator('#settings-dialog[open]').waitFor();
  if (pace !== undefined) await page.selectOption('#settings-pace', { label: pace });
  if (thoughts !== undefined) await page.setChecked('#settings-thoughts', thoughts);
  await page.click('#settings-save');
  await page.locator('#settings-dialog:not([open])').waitFor({ state: 'attached' });
}

async function newStoryFromForm(title: string, setting: string): Promise<string> {
  await page.goto(`${serve.url}/#/`);
  await page.locator('#home:not([hidden])').waitFor();
  await page.fill('#new-title', title);
  await page.fill('#new-setting', setting);
  await page.click('#create-story');
  await page.waitForURL(/#\/story\//, { timeout: 30_000 });
  await waitForHead(1);
  return storyIdOf();
}

const inViewport = (selector: string) =>
  page.evaluate<boolean>(`(() => { const r = document.querySelector(${JSON.stringify(selector)}).getBoundingClientRect(); return r.top >= 0 && r.top < window.innerHeight; })()`);

// Each test is a whole journey through the page; on a loaded 2-core machine one can take minutes.
describe('web UI in Chromium against a running `livingworld serve`', { timeout: 240_000 }, () => {
  it('plays 12 turns that read top to bottom as a transcript, and reading back never moves the head', async () => {
    await setPreferences({ pace: 'As fast as it is written' });
    const title = 'The <b>Lantern</b> <img src=x onerror="window.pwned=1"> Keeper';
    const storyId = await newStoryFromForm(title, 'A fishing town where the lighthouse keeper has vanished. You are his apprentice.');
    // Prose and titles are text, never markup.
    expect(await page.locator('#story-title').textContent()).toBe(title);
    expect(await page.locator('#story-title img, #story-title b').count()).toBe(0);
    expect(await page.evaluate('window.pwned')).toBeUndefined();
    // The side panel shows the characters at once, not an empty box waiting for a click.
    await page.locator('#characters-panel:not([hidden]) .character').first().waitFor();
    await shot('web-1280-opening');

    const instructions = new Map([[3, 'ask about the lamp'], [7, 'whisper so nobody else hears']]);
    for (let turn = 1; turn <= 12; turn++) {
      const choice = ((turn - 1) % 3) + 1;
      const instruction = instructions.get(turn);
      if (instruction) {
        // The instruction is written into the box of the choice it goes with.
        const item = page.locator('.choice-item').nth(choice - 1);
        await item.locator('.add-instruction').click();
        await item.locator('.choice-instruction-input').fill(instruction);
        await item.locator('.take-with-instruction').click();
      } else if (turn % 2 === 0) {
        await page.keyboard.press(String(choice));
      } else {
        await page.click(`.choice[data-choice="${choice}"]`);
      }
      await waitForHead(turn + 1);
    }
    await shot('web-1280-after-12-turns');
    await shot('web-1280-transcript-full', { fullPage: true });

    // The page is the API's head path, every scene in order, each choice and instruction between them.
    const scenes = await headPath(storyId);
    expect(scenes).toHaveLength(13);
    const shown = await page.evaluate<{ id: string; number: string; text: string }[]>(
      `[...document.querySelectorAll('#transcript .scene')].map((a) => ({ id: a.dataset.sceneId, number: a.dataset.sceneNumber, text: a.querySelector('.prose').innerText }))`,
    );
    expect(shown.map((s) => s.id)).toEqual(scenes.map((s) => s.id));
    expect(shown.map((s) => Number(s.number))).toEqual(scenes.map((_, index) => index + 1));
    const words = (text: string) => text.split(/\s+/).filter(Boolean).join(' ');
    shown.forEach((scene, index) => expect(words(scene.text)).toBe(words(scenes[index]!.content)));
    const taken = await page.locator('#transcript .taken').allInnerTexts();
    expect(taken).toHaveLength(12);
    taken.forEach((line, index) => expect(line).toContain(`You chose ${scenes[index + 1]!.choiceNumber}`));
    expect(taken[2]).toContain('ask about the lamp');
    expect(taken[6]).toContain('whisper so nobody else hears');
    expect(scenes[3]!.instruction).toBe('ask about the lamp');

    // Reading from the top: the first scene is on screen and the head has not moved.
    const headId = scenes.at(-1)!.id;
    await page.locator('#transcript .scene[data-scene-number="1"]').scrollIntoViewIfNeeded();
    expect(await inViewport('#transcript .scene[data-scene-number="1"]')).toBe(true);
    await shot('web-1280-reading-scene-1');
    await page.locator('#transcript .scene[data-scene-number="4"]').click();
    await page.locator('#continue-offer:not([hidden])').waitFor();
    expect(await page.locator('#continue-text').textContent()).toContain('scene 4');
    await shot('web-1280-continue-offer');
    await page.keyboard.press('Escape');
    await page.locator('#continue-offer').waitFor({ state: 'hidden' });
    expect((await api('GET', `/api/stories/${storyId}`)).body.story.headSceneId).toBe(headId);
    expect(await page.locator('#transcript .scene').count()).toBe(13);

    // The map stays inside its panel, and a click on it also only offers to continue.
    await page.click('#show-map');
    await page.locator('svg.story-map .map-node').first().waitFor();
    const fits = await page.evaluate<{ map: number; side: number; page: number }>(
      `(() => ({ map: document.querySelector('.map-scroll').getBoundingClientRect().right, side: document.querySelector('#story .side').getBoundingClientRect().right, page: document.documentElement.scrollWidth }))()`,
    );
    expect(fits.map).toBeLessThanOrEqual(fits.side);
    expect(fits.page).toBeLessThanOrEqual(1280);
    await shot('web-1280-story-map');
    await page.locator('svg.story-map .map-node[data-scene-number="2"]').click();
    await page.locator('#continue-offer:not([hidden])').waitFor();
    expect((await api('GET', `/api/stories/${storyId}`)).body.story.headSceneId).toBe(headId);
    await page.click('#continue-confirm');
    await waitForHead(2);
    expect((await api('GET', `/api/stories/${storyId}`)).body.story.headSceneId).toBe(scenes[1]!.id);
    expect(await page.locator('#transcript .scene').count()).toBe(2);
    expect(problems).toEqual([]);
  });

  it('regenerates the last scene in place, undoes, and talks to a character', async () => {
    const storyId = await newStoryFromForm('Salt Road', 'A caravan road across salt flats; you guard the last wagon.');
    await page.keyboard.press('3');
    await waitForHead(2);
    const before = await headPath(storyId);
    await page.click('#regenerate');
    await page.locator('#transcript .scene.streaming').waitFor({ state: 'detached', timeout: 30_000 });
    await waitForHead(2);
    const after = await headPath(storyId);
    expect(after).toHaveLength(2);
    expect(after[1]!.id).not.toBe(before[1]!.id);
    // The new version replaced the old one: still two scenes and one choice line, no leftover.
    expect(await page.locator('#transcript .scene').count()).toBe(2);
    expect(await page.locator('#transcript .taken').count()).toBe(1);
    expect(await page.locator('#transcript .scene.head').getAttribute('data-scene-id')).toBe(after[1]!.id);
    await page.click('#undo');
    await waitForHead(1);
    expect((await headPath(storyId)).map((s) => s.id)).toEqual([before[0]!.id]);
    expect(await page.locator('#transcript .taken').count()).toBe(0);

    await page.click('#show-characters');
    const character = page.locator('#characters-panel .character').first();
    await character.waitFor();
    expect(await character.locator('.avatar').textContent()).toMatch(/^\p{Lu}$/u);
    await character.locator('.talk-input').fill('What happened to the <i>lamp</i>?');
    await character.locator('.talk button').click();
    await character.locator('.talk-replies .reply').waitFor();
    expect(await character.locator('.talk-replies i').count()).toBe(0);
    await shot('web-1280-characters');
    expect(problems).toEqual([]);
  });

  it('streams the scene into the page at the pace chosen in the settings, with the thoughts shown once', async () => {
    await newStoryFromForm('Slow Tide', 'A tidal island cut off twice a day; you keep its only inn.');
    await setPreferences({ pace: 'Slow (8 words a second)', thoughts: true });
    await page.locator('#thoughts:not([hidden]) h3').waitFor();
    expect(await page.evaluate('JSON.parse(localStorage.getItem("livingworld.preferences")).pace')).toBe(8);

    await page.click('.choice[data-choice="1"]');
    const lengths: number[] = [];
    let midStreamShot = false;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const state = await page.evaluate<{ streaming: boolean; length: number }>(`(() => {
        const article = document.querySelector('#transcript .scene.streaming');
        return { streaming: !!article, length: article ? article.querySelector('.prose').textContent.length : 0 };
      })()`);
      if (!state.streaming && lengths.length > 0) break;
      if (state.streaming) lengths.push(state.length);
      if (state.streaming && state.length > 120 && !midStreamShot) {
        await shot('web-1280-streaming');
        midStreamShot = true;
      }
      await page.waitForTimeout(150);
    }
    await waitForHead(2);
    const finalLength = ((await page.locator('#transcript .scene.head .prose').textContent()) ?? '').length;
    const partial = [...new Set(lengths.filter((n) => n > 0))];
    // Partial text, growing, seen well before the end of the scene.
    expect(partial.length, `lengths seen while streaming: ${lengths.join(',')}`).toBeGreaterThanOrEqual(5);
    expect([...partial].sort((a, b) => a - b)).toEqual(partial);
    expect(partial[0]!).toBeLessThan(finalLength / 2);
    expect(midStreamShot).toBe(true);

    // Thoughts appear once: under the scene, not again in the characters panel.
    await page.locator('#thoughts:not([hidden]) h3').waitFor();
    const firstThought = await page.locator('#thoughts p').first().innerText();
    const thoughtText = firstThought.slice(firstThought.indexOf(':') + 1).trim().slice(0, 40);
    await page.click('#show-characters');
    await page.locator('#characters-panel .character').first().waitFor();
    // Two characters' thoughts may start alike, so look where a repeat would be wrong: the panel and the prose.
    expect(await page.locator('#thoughts').innerText()).toContain(thoughtText);
    expect(await page.locator('#characters-panel').innerText()).not.toContain(thoughtText);
    expect(await page.locator('#transcript').innerText()).not.toContain(thoughtText);
    await setPreferences({ pace: 'As fast as it is written', thoughts: false });
    await page.locator('#thoughts').waitFor({ state: 'hidden' });
    expect(problems).toEqual([]);
  });

  it('exports, imports, archives and edits lore in the browser, and the API and the CLI see each change', async () => {
    const storyId = await newStoryFromForm('Harbour Ledger', 'A customs house in a foggy port; you are the new clerk.');
    // The form starts empty for the next story.
    await page.goto(`${serve.url}/#/`);
    expect(await page.inputValue('#new-title')).toBe('');
    await page.goto(`${serve.url}/#/story/${storyId}`);
    await waitForHead(1);
    await page.keyboard.press('1');
    await waitForHead(2);

    const download = async (format: string) => {
      await page.click('#story-menu summary');
      const [file] = await Promise.all([page.waitForEvent('download'), page.click(`[data-export="${format}"]`)]);
      const target = path.join(scratch, file.suggestedFilename());
      await file.saveAs(target);
      return { name: file.suggestedFilename(), text: fs.readFileSync(target, 'utf8') };
    };
    const json = await download('json');
    const archive = JSON.parse(json.text);
    expect(archive).toMatchObject({ format_version: 'livingworld/1', story: { title: 'Harbour Ledger' } });
    expect(archive.scenes).toHaveLength(2);
    expect((await download('md')).text).toContain('Harbour Ledger');
    expect((await download('twee')).text).toContain(':: StoryTitle');

    // Import, through the home page's file control: a copy with a crowd of fifteen people.
    const crowdFile = path.join(scratch, 'crowd.json');
    fs.writeFileSync(crowdFile, JSON.stringify(addCrowd(archive, { title: 'Harbour Ledger, crowded', people: 15 })));
    await page.goto(`${serve.url}/#/`);
    await page.setInputFiles('#import-file', crowdFile);
    await page.waitForURL((url) => url.hash.startsWith('#/story/') && !url.hash.includes(storyId), { timeout: 30_000 });
    await waitForHead(2);
    const crowdId = storyIdOf();
    expect((await api('GET', `/api/stories/${crowdId}`)).body.story.title).toBe('Harbour Ledger, crowded');
    expect((await cli('list')).stories.map((s: { id: string }) => s.id)).toContain(crowdId);

    // The relationship graph at fifteen people: every name whole inside the drawing, a legend, a filter.
    await page.click('#show-graph');
    await page.locator('svg.relationship-graph').waitFor();
    expect(await page.locator('svg.relationship-graph .graph-node').count()).toBe(16);
    const clipped = await page.evaluate<string[]>(`(() => {
      const graph = document.querySelector('svg.relationship-graph');
      const box = graph.viewBox.baseVal;
      return [...graph.querySelectorAll('.graph-label')].filter((label) => {
        const b = label.getBBox();
        return b.x < box.x || b.y < box.y || b.x + b.width > box.x + box.width || b.y + b.height > box.y + box.height;
      }).map((label) => label.textContent);
    })()`);
    expect(clipped).toEqual([]);
    // And no name lies over another.
    const overlapping = await page.evaluate<string[]>(`(() => {
      const boxes = [...document.querySelectorAll('svg.relationship-graph .graph-label')].map((label) => ({ name: label.textContent, b: label.getBBox() }));
      const hits = [];
      boxes.forEach((one, i) => boxes.slice(i + 1).forEach((other) => {
        const a = one.b, b = other.b;
        if (a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height) hits.push(one.name + ' / ' + other.name);
      }));
      return hits;
    })()`);
    expect(overlapping).toEqual([]);
    expect(await page.locator('.graph-legend li').count()).toBeGreaterThanOrEqual(4);
    const allTies = await page.locator('svg.relationship-graph .graph-edge').count();
    await page.locator('.weak-ties').fill('0.5');
    const strongTies = await page.locator('svg.relationship-graph .graph-edge').count();
    expect(strongTies).toBeGreaterThan(0);
    expect(strongTies).toBeLessThan(allTies);
    await page.locator('.weak-ties').fill('0');
    await page.locator('#graph-panel').scrollIntoViewIfNeeded();
    await shot('web-1280-relationships-15');
    await page.click('.enlarge-graph');
    await page.locator('dialog.graph-dialog[open] svg.relationship-graph').waitFor();
    await shot('web-1280-relationships-15-enlarged');
    await page.click('.close-graph');
    await page.locator('dialog.graph-dialog').waitFor({ state: 'detached' });

    // Lore: add, edit, delete; the API has each change.
    await page.click('#show-lore');
    await page.locator('.lore-new > summary').click();
    await page.fill('.lore-new input[name="title"]', 'The tide bell');
    await page.fill('.lore-new input[name="keywords"]', 'bell, tide');
    await page.fill('.lore-new textarea[name="content"]', 'The bell on the mole rings by itself before a storm.');
    // The World Info options: where it goes, its group and how long it stays.
    await page.locator('.lore-new .lore-options > summary').click();
    await page.selectOption('.lore-new select[name="position"]', 'author_note_top');
    await page.fill('.lore-new input[name="inclusionGroup"]', 'bells');
    await page.fill('.lore-new input[name="sticky"]', '2');
    await shot('web-1280-lore-options');
    await page.click('.lore-new button[type="submit"]');
    await page.locator('.lore-entry', { hasText: 'The tide bell' }).waitFor();
    let lore = (await api('GET', `/api/stories/${crowdId}/lore`)).body.entries;
    const bell = lore.find((e: { title: string }) => e.title === 'The tide bell');
    expect(bell).toMatchObject({ keywords: ['bell', 'tide'], content: 'The bell on the mole rings by itself before a storm.', enabled: true });
    expect(bell).toMatchObject({ position: 'author_note_top', inclusionGroup: 'bells', sticky: 2, cooldown: 0, probability: 100, insertionOrder: 100 });
    const entry = page.locator(`.lore-entry[data-entry-id="${bell.id}"]`);
    await entry.locator(':scope > summary').click();
    expect(await entry.locator('select[name="position"]').inputValue()).toBe('author_note_top');
    await entry.locator('textarea[name="content"]').fill('The bell rings by itself before a storm, and once before a death.');
    await entry.locator('input[name="enabled"]').uncheck();
    await entry.locator('button[type="submit"]').click();
    await page.locator(`.lore-entry.disabled[data-entry-id="${bell.id}"]`).waitFor();
    lore = (await api('GET', `/api/stories/${crowdId}/lore`)).body.entries;
    expect(lore.find((e: { id: string }) => e.id === bell.id)).toMatchObject({ content: 'The bell rings by itself before a storm, and once before a death.', enabled: false });
    await shot('web-1280-lore');
    await page.locator(`.lore-entry[data-entry-id="${bell.id}"] > summary`).click();
    await page.locator(`.lore-entry[data-entry-id="${bell.id}"] .lore-delete`).click();
    await page.click('#confirm-no');
    expect((await api('GET', `/api/stories/${crowdId}/lore`)).body.entries.some((e: { id: string }) => e.id === bell.id)).toBe(true);
    await page.locator(`.lore-entry[data-entry-id="${bell.id}"] .lore-delete`).click();
    await page.click('#confirm-yes');
    await page.locator(`.lore-entry[data-entry-id="${bell.id}"]`).waitFor({ state: 'detached' });
    expect((await api('GET', `/api/stories/${crowdId}/lore`)).body.entries.some((e: { id: string }) => e.id === bell.id)).toBe(false);

    // Archive from the story menu: not playable, and the CLI lists it as archived.
    await page.click('#story-menu summary');
    await page.click('#archive-story');
    await page.locator('#archived-badge:not([hidden])').waitFor();
    expect((await api('GET', `/api/stories/${crowdId}`)).body.story.status).toBe('archived');
    expect((await cli('list')).stories.find((s: { id: string }) => s.id === crowdId).status).toBe('archived');
    expect(await page.locator('.choice[data-choice="1"]').isDisabled()).toBe(true);
    await shot('web-1280-archived');
    // Unarchive from the list on the home page.
    await page.goto(`${serve.url}/#/`);
    const row = page.locator(`.story-row[data-story-id="${crowdId}"]`);
    await row.locator('.badge', { hasText: 'archived' }).waitFor();
    await shot('web-1280-home');
    await row.locator('.archive-toggle').click();
    await page.locator(`.story-row[data-story-id="${crowdId}"]:not(.archived)`).waitFor();
    expect((await api('GET', `/api/stories/${crowdId}`)).body.story.status).toBe('active');
    expect(problems).toEqual([]);
  });

  it('replaces what was on screen with an empty or error state, and shows turns taken in the terminal', async () => {
    const storyId = await newStoryFromForm('Quiet Orchard', 'An orchard at the edge of a sleeping village; you are the new keeper.');
    expect(await page.locator('#transcript .scene').count()).toBe(1);
    await page.goto(`${serve.url}/#/story/00000000-0000-4000-8000-000000000000`);
    await page.locator('#story-error:not([hidden])').waitFor();
    expect(await page.locator('#story-error').innerText()).toContain('No story');
    expect(await page.locator('#transcript .scene').count()).toBe(0);
    expect(await page.locator('#choices li').count()).toBe(0);
    expect(await page.locator('#story-title').textContent()).toBe('');
    expect(await page.locator('#story .side').isHidden()).toBe(true);
    await shot('web-1280-missing-story');
    // Back to a real story: its own content, and the error gone.
    await page.goto(`${serve.url}/#/story/${storyId}`);
    await waitForHead(1);
    expect(await page.locator('#story-error').isHidden()).toBe(true);
    expect(await page.locator('#story-title').textContent()).toBe('Quiet Orchard');
    problems.splice(0);

    // A turn taken in the terminal appears on the open page, below what was there.
    const advanced = await cli('advance', storyId, '2', '--instruction', 'knock twice');
    await waitForHead(2);
    expect(await page.locator('#transcript .scene.head').getAttribute('data-scene-id')).toBe(advanced.scene.id);
    expect(await page.locator('#transcript .taken').innerText()).toContain('knock twice');
    expect(await page.locator('#notice').innerText()).toContain('A new scene was written');
    expect(problems).toEqual([]);
  });

  it('fits a 375 px phone: nothing runs off the side, and a number key takes a choice', async () => {
    await page.setViewportSize({ width: 375, height: 800 });
    try {
      await page.goto(`${serve.url}/#/`);
      await page.locator('.story-row').first().waitFor();
      await shot('web-375-home', { fullPage: true });
      const storyId = await newStoryFromForm('Pocket Lighthouse', 'A lighthouse on a rock; you are the keeper, and a boat is missing.');
      const opening = (await headPath(storyId))[0]!;
      await page.keyboard.press('2');
      await waitForHead(2);
      expect(await page.locator('#transcript .taken').innerText()).toContain('You chose 2');
      expect((await headPath(storyId))[1]!.choiceNumber).toBe(2);
      expect((await headPath(storyId))[0]!.id).toBe(opening.id);
      const width = async () => page.evaluate<number>('document.documentElement.scrollWidth');
      expect(await width()).toBeLessThanOrEqual(375);
      await shot('web-375-story');
      await page.locator('.choice-item').first().locator('.add-instruction').click();
      await shot('web-375-instruction');
      await page.locator('#transcript .scene[data-scene-number="1"]').click();
      await page.locator('#continue-offer:not([hidden])').waitFor();
      await shot('web-375-continue-offer');
      await page.keyboard.press('Escape');
      for (const tab of ['map', 'graph', 'lore', 'characters']) {
        await page.click(`#show-${tab}`);
        await page.locator(`#${tab}-panel:not([hidden]) > *:not(.hint):not([hidden])`).first().waitFor();
        expect(await width(), `the ${tab} tab at 375 px`).toBeLessThanOrEqual(375);
      }
      await page.locator('#story .side').scrollIntoViewIfNeeded();
      await shot('web-375-characters');
      await page.click('#open-settings');
      await shot('web-375-settings');
      await page.keyboard.press('Escape');
    } finally {
      await page.setViewportSize({ width: 1280, height: 860 });
    }
    expect(problems).toEqual([]);
  });
});
