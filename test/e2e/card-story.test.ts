import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { createToken, ensureUser } from '../../src/server/access/access-repo.js';
import { createServerTestDatabase, type TestServerDatabase } from '../helpers/db.js';
import { pngCardWithAssets, storyCardV3 } from '../io/card-builders.js';
import { startServeProcess, type ServeProcess } from '../server/serve-process.js';
import { call } from '../server/test-server.js';
import { launchBrowser, screenshotPath } from './browser.js';

/**
 * "Start from a card" in real Chromium, on a server that needs a token: a card file and a
 * player name open the story with the card's greeting, and the character panel shows the
 * card's picture (fetched with the token) where the card has one.
 */

let database: TestServerDatabase;
let serve: ServeProcess;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let page: Page;
let token: string;
const problems: string[] = [];
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-card-story-'));

beforeAll(async () => {
  database = await createServerTestDatabase({ poolSize: 2 });
  token = (await createToken(database.db, (await ensureUser(database.db, 'reader')).id)).token;
  serve = await startServeProcess({ env: { DATABASE_URL: database.url } });
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
  fs.rmSync(scratch, { recursive: true, force: true });
});

const api = (method: string, route: string) => call(serve.url, method, route, undefined, { authorization: `Bearer ${token}` });
const storyIdOf = () => /#\/story\/([0-9a-f-]{36})/.exec(page.url())![1]!;

/** Fills the card form on the home page and waits for the story to open at its first scene. */
async function startFromCard(file: string, playerName: string): Promise<string> {
  await page.goto(`${serve.url}/#/&token=${encodeURIComponent(token)}`);
  await page.locator('#home:not([hidden])').waitFor();
  await page.click('#source-card');
  await page.locator('#card-story-form:not([hidden])').waitFor();
  await page.setInputFiles('#card-file', file);
  await page.fill('#card-player-name', playerName);
  await page.click('#create-card-story');
  await page.locator('#transcript .scene.head[data-scene-number="1"][data-streaming="false"]').waitFor({ timeout: 30_000 });
  await page.locator('#story[data-busy="false"]').waitFor({ timeout: 30_000 });
  return storyIdOf();
}

async function openCharacters() {
  await page.click('#show-characters');
  const character = page.locator('#characters-panel .character').first();
  await character.waitFor();
  return character;
}

describe('a story started from a character card in the browser', () => {
  it('a PNG card and a player name open the story with the greeting, and the panel shows the card picture', { timeout: 120_000 }, async () => {
    const { png, card } = pngCardWithAssets();
    const file = path.join(scratch, 'maren.png');
    fs.writeFileSync(file, png);
    const storyId = await startFromCard(file, 'Ilse');

    const { body } = await api('GET', `/api/stories/${storyId}`);
    expect(body.story.playerName).toBe('Ilse');
    expect(body.story.title).toBe(card.data.name);
    // The opening is the card's first_mes, with the player's name for {{user}}, shown as stored.
    expect(body.scene.content).toContain('looks up from the lamp');
    expect(body.scene.content).toContain('Ilse');
    expect(body.scene.content).not.toMatch(/\{\{user\}\}|<USER>/);
    const shown = await page.locator('#transcript .scene.head').innerText();
    expect(shown).toContain('So you made it up the stairs, Ilse');
    // The greeting's *action* reads in italics, without its asterisks.
    expect(await page.locator('#transcript .scene.head .prose em').first().textContent()).toBe('Maren Vos looks up from the lamp.');
    expect(shown).not.toContain('*');

    const character = await openCharacters();
    expect(await character.locator('h3').textContent()).toBe('Maren Vos');
    // The card's description is stored with its macros; the reader sees the names.
    const description = await character.locator('p.muted').textContent();
    expect(description).toBe('Maren Vos keeps the lighthouse on Vell point; she calls Ilse "the visitor".');
    const picture = character.locator('img.avatar');
    await picture.waitFor();
    // Loaded for real: the bytes came (with the token) and Chromium decoded them.
    await page.waitForFunction(`(() => {
      const image = document.querySelector('#characters-panel .character img.avatar');
      return Boolean(image && image.complete && image.naturalWidth > 0);
    })()`);
    expect(await picture.getAttribute('src')).toMatch(/^blob:/);
    const { body: listed } = await api('GET', `/api/stories/${storyId}/characters`);
    const avatarUrl = listed.characters.find((c: { name: string }) => c.name === 'Maren Vos').avatarUrl as string;
    expect(avatarUrl).toMatch(/^\/api\/characters\/[0-9a-f-]{36}\/avatar$/);
    const served = await fetch(`${serve.url}${avatarUrl}`, { headers: { authorization: `Bearer ${token}` } });
    expect(served.headers.get('content-type')).toBe('image/png');
    // Without the token the picture is refused: the page could only have shown it by sending one.
    expect((await fetch(`${serve.url}${avatarUrl}`)).status).toBe(401);
    await page.screenshot({ path: screenshotPath('card-story-1280') });
    await page.setViewportSize({ width: 375, height: 780 });
    await page.screenshot({ path: screenshotPath('card-story-375'), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 860 });
    expect(problems).toEqual([]);
  });

  it('a JSON card works the same way, and a character without a picture shows its initial', { timeout: 120_000 }, async () => {
    const file = path.join(scratch, 'maren.card.json');
    fs.writeFileSync(file, JSON.stringify(storyCardV3()));
    const storyId = await startFromCard(file, 'Tomas');
    const { body } = await api('GET', `/api/stories/${storyId}`);
    expect(body.story.playerName).toBe('Tomas');
    expect(await page.locator('#transcript .scene.head').innerText()).toContain('So you made it up the stairs, Tomas');
    const { body: listed } = await api('GET', `/api/stories/${storyId}/characters`);
    expect(listed.characters.every((c: { avatarUrl?: string }) => c.avatarUrl === undefined)).toBe(true);
    const character = await openCharacters();
    expect(await character.locator('img.avatar').count()).toBe(0);
    expect(await character.locator('.avatar.initial').textContent()).toBe('M');
    expect(problems).toEqual([]);
  });
});
