import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/index.js';
import type { FakeOpenAI } from '../helpers/fake-model-servers.js';
import { call, startRecordingModelServer, type RecordingModelServer, type TestServer } from './test-server.js';
import { neutralSceneJson, storyCardV3 } from '../io/card-builders.js';

/**
 * World Info acting in the prompts a model server on 127.0.0.1 records: every position at
 * its own place, inclusion groups, recursion, and sticky / cooldown / delay counted along
 * the scene path (so a rewind or a branch has its own timing).
 */
const worldInfoFile = 'test/fixtures/cards/every-option.world-info.json';

let db: Database;
let model: FakeOpenAI;
let server: TestServer;
let recording: RecordingModelServer;

beforeAll(async () => {
  recording = await startRecordingModelServer(neutralSceneJson);
  ({ db, model, server } = recording);
});
afterAll(async () => {
  await recording?.close();
});

/** The messages of the newest scene request the model server saw. */
function lastScenePrompt(): { system: string; user: string; all: string } {
  const request = model.requests.filter((r) => r.path === '/v1/chat/completions').at(-1)!;
  const messages = request.body.messages as { role: string; content: string }[];
  const all = messages.map((m) => m.content).join('\n\n');
  expect(all).toContain('## This turn');
  return { system: messages.find((m) => m.role === 'system')!.content, user: messages.filter((m) => m.role === 'user').map((m) => m.content).join('\n\n'), all };
}

/** The text of one `## Title…` section of a prompt (up to the next `## `). */
function sectionOf(prompt: string, titleStart: string): string {
  const start = prompt.indexOf(`## ${titleStart}`);
  expect(start, `no section "${titleStart}"`).toBeGreaterThanOrEqual(0);
  const next = prompt.indexOf('\n## ', start + 3);
  return prompt.slice(start, next === -1 ? undefined : next);
}

async function importBook(storyId: string): Promise<void> {
  const response = await fetch(`${server.url}/api/stories/${storyId}/lore/import`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: fs.readFileSync(worldInfoFile),
  });
  expect(response.status).toBe(201);
}

async function newStory(fields: Record<string, unknown> = {}): Promise<{ storyId: string; openingId: string }> {
  const created = await call(server.url, 'POST', '/api/stories', { title: 'Vell', setting: 'A lighthouse town in fog.', ...fields });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  await importBook(created.body.story.id);
  return { storyId: created.body.story.id as string, openingId: created.body.scene.id as string };
}

async function turn(storyId: string, instruction: string): Promise<{ sceneId: string; prompt: ReturnType<typeof lastScenePrompt> }> {
  const response = await call(server.url, 'POST', `/api/stories/${storyId}/turns`, { choice: 1, instruction });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return { sceneId: response.body.scene.id as string, prompt: lastScenePrompt() };
}

describe('World Info positions in the recorded prompt', () => {
  it('puts each position at its own place: around the characters, around the instructions, among the scenes by role, around the examples', async () => {
    const { storyId } = await newStory({ instructions: 'STANDING-ORDER: keep it grim.' });
    const { prompt } = await turn(storyId, 'look at the lamp and the beacon');

    // 0 and 1: just before and right after the characters.
    const beforeChars = sectionOf(prompt.user, 'Lore');
    expect(beforeChars).toContain('CONSTANT-SKY');
    expect(prompt.user.indexOf('## Lore')).toBeLessThan(prompt.user.indexOf('## More lore'));
    expect(sectionOf(prompt.user, 'More lore')).toContain('AFTER-LAMP');

    // 2 and 3: the author's instructions stand for the author's note; lore opens and closes them.
    const instructions = sectionOf(prompt.system, "Author's instructions");
    expect(instructions.indexOf('AN-TOP')).toBeGreaterThan(0);
    expect(instructions.indexOf('AN-TOP')).toBeLessThan(instructions.indexOf('STANDING-ORDER'));
    expect(instructions.indexOf('STANDING-ORDER')).toBeLessThan(instructions.indexOf('AN-BOTTOM'));

    // 4: at its depth among the recent scenes, headed by its role; depth 0 follows the newest scene.
    const recent = sectionOf(prompt.user, 'Recent scenes');
    const newest = recent.lastIndexOf('### Scene');
    expect(recent.indexOf("### Lore (the player's note)\n- Depth as user: DEPTH-USER")).toBeGreaterThan(newest);
    expect(recent.indexOf("### Lore (the storyteller's note)\n- Depth as assistant: DEPTH-ASSIST")).toBeGreaterThan(newest);
    expect(recent).toContain('DEPTH-LAMP');
    expect(recent.indexOf('DEPTH-LAMP')).toBeLessThan(newest); // depth 1: before the newest scene

    // 5 and 6: example blocks; with no card, a section of their own.
    const examples = sectionOf(prompt.system, 'Examples of voice');
    expect(examples.indexOf('EM-TOP')).toBeLessThan(examples.indexOf('EM-BOTTOM'));

    // Nothing is in two places.
    for (const marker of ['AN-TOP', 'AN-BOTTOM', 'EM-TOP', 'EM-BOTTOM', 'DEPTH-USER', 'AFTER-LAMP']) {
      expect(prompt.all.split(marker).length - 1, marker).toBe(1);
    }
  });

  it("places example-message lore before and after a card's own examples", async () => {
    const created = await call(server.url, 'POST', '/api/stories', { card: storyCardV3() });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const storyId = created.body.story.id as string;
    await importBook(storyId);
    const { prompt } = await turn(storyId, 'watch the beacon');
    const examples = sectionOf(prompt.system, 'How Maren Vos speaks');
    const [top, voice, bottom] = ['EM-TOP', 'VOICE-EXAMPLE', 'EM-BOTTOM'].map((marker) => examples.indexOf(marker));
    expect(top).toBeGreaterThan(0);
    expect(top).toBeLessThan(voice!);
    expect(voice).toBeLessThan(bottom!);
  });
});

describe('inclusion groups and recursion in the recorded prompt', () => {
  it('inserts one entry per group and follows keys found in activated content', async () => {
    const { storyId } = await newStory();
    const rain = (await turn(storyId, 'the rain comes')).prompt.all;
    expect(rain).toContain('PRIO-HIGH');
    expect(rain).not.toContain('PRIO-LOW');
    expect(rain).not.toContain('WEIGHT-HEAVY');

    const ghosts = (await turn(storyId, 'sing me a song about Ghosts')).prompt.all;
    expect(ghosts).toContain('GROUP-GHOST');
    expect(ghosts).not.toContain('GROUP-CAT');

    const bessie = (await turn(storyId, 'visit Bessie')).prompt.all;
    expect(bessie).toContain('RECURSE-BESSIE');
    expect(bessie).toContain('RECURSE-RUFUS');
    expect(bessie).toContain('DELAYREC-COW');
    expect(bessie).not.toContain('EXCLUDED-MILL');
    expect(bessie).not.toContain('OTTER-NEVER');

    // The story's book-wide settings: recursion off, or at most one pass, stops at Bessie.
    const story = await call(server.url, 'GET', `/api/stories/${storyId}`);
    expect(story.body.story.lore).toEqual({ scanDepth: 2, tokenBudget: 800, recursive: true, maxRecursionSteps: 0, useGroupScoring: false });
    const off = await call(server.url, 'PATCH', `/api/stories/${storyId}`, { lore: { recursive: false } });
    expect(off.status, JSON.stringify(off.body)).toBe(200);
    expect(off.body.story.lore.recursive).toBe(false);
    const once = (await turn(storyId, 'visit Bessie')).prompt.all;
    expect(once).toContain('RECURSE-BESSIE');
    expect(once).not.toContain('RECURSE-RUFUS');
    await call(server.url, 'PATCH', `/api/stories/${storyId}`, { lore: { recursive: true, maxRecursionSteps: 1 } });
    expect((await turn(storyId, 'visit Bessie')).prompt.all).not.toContain('RECURSE-RUFUS');
    await call(server.url, 'PATCH', `/api/stories/${storyId}`, { lore: { maxRecursionSteps: 2 } });
    expect((await turn(storyId, 'visit Bessie')).prompt.all).toContain('RECURSE-RUFUS');
    const bad = await call(server.url, 'PATCH', `/api/stories/${storyId}`, { lore: { maxRecursionSteps: -1 } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/lore\.maxRecursionSteps must be 0 to 100/);
    expect((await call(server.url, 'GET', `/api/stories/${storyId}`)).body.story.lore.maxRecursionSteps).toBe(2);
  });
});

describe('timed effects follow the story tree', () => {
  it('keeps a sticky entry for its scenes, then cools it down, and a rewound branch has none of it', async () => {
    const { storyId } = await newStory();
    const activated = await turn(storyId, 'a comet appears'); // scene 2: activated
    expect(activated.prompt.all).toContain('STICKY-COMET');
    expect(activated.prompt.all).not.toContain('DELAY-COMET'); // delay 3: the path holds only 1 scene
    const third = await turn(storyId, 'wait quietly'); // scene 3: sticky
    expect(third.prompt.all).toContain('STICKY-COMET');
    const fourth = await turn(storyId, 'wait quietly'); // scene 4: sticky
    expect(fourth.prompt.all).toContain('STICKY-COMET');

    // A copy through the story archive keeps what each scene held: it is cooling down there too.
    const archive = await call(server.url, 'GET', `/api/stories/${storyId}/export?format=json`);
    expect(archive.body.lore_activations.length).toBeGreaterThanOrEqual(3);
    const copy = await fetch(`${server.url}/api/import`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(archive.body) });
    expect(copy.status).toBe(201);
    const copyId = ((await copy.json()) as { storyId: string }).storyId;
    const copied = await turn(copyId, 'the comet again');
    expect(copied.prompt.all).not.toContain('STICKY-COMET');
    expect(copied.prompt.all).toContain('DELAY-COMET');
    const fifth = await turn(storyId, 'the comet again'); // scene 5: cooldown, though its key is there
    expect(fifth.prompt.all).not.toContain('STICKY-COMET');
    expect(fifth.prompt.all).toContain('DELAY-COMET'); // four scenes on the path now
    const sixth = await turn(storyId, 'the comet again'); // scene 6: still cooling
    expect(sixth.prompt.all).not.toContain('STICKY-COMET');
    const seventh = await turn(storyId, 'the comet again'); // scene 7: activated afresh
    expect(seventh.prompt.all).toContain('STICKY-COMET');

    // Back to scene 3 (sticky there): its next scene is sticky too, as on the first branch…
    const rewound = await call(server.url, 'POST', `/api/stories/${storyId}/rewind`, { toSceneId: third.sceneId });
    expect(rewound.status, JSON.stringify(rewound.body)).toBe(200);
    expect((await turn(storyId, 'wait quietly')).prompt.all).toContain('STICKY-COMET');
    // …while a branch from scene 2's parent never saw the comet.
    const { rows } = await db.query<{ parent_scene_id: string }>('SELECT parent_scene_id FROM scenes WHERE id = $1', [activated.sceneId]);
    await call(server.url, 'POST', `/api/stories/${storyId}/rewind`, { toSceneId: rows[0]!.parent_scene_id });
    expect((await turn(storyId, 'wait quietly')).prompt.all).not.toContain('STICKY-COMET');

    // What each scene held is recorded with it; timing is replayed from these along the path.
    const { rows: counts } = await db.query<{ n: string }>(
      `SELECT count(*) AS n FROM scene_lore_activations a JOIN lore_entries l ON l.story_id = a.story_id AND l.id = a.lore_entry_id
        WHERE a.story_id = $1 AND l.title = 'Comet'`,
      [storyId],
    );
    expect(Number(counts[0]!.n)).toBe(5); // scenes 2, 3, 4, 7 and the rewound branch's scene 4

    // Editing the entry ends its timed effects, as in SillyTavern: from scene 3 again, no sticky.
    const lore = await call(server.url, 'GET', `/api/stories/${storyId}/lore`);
    const comet = (lore.body.entries as any[]).find((entry) => entry.title === 'Comet');
    const edited = await call(server.url, 'PATCH', `/api/stories/${storyId}/lore/${comet.id}`, { insertionOrder: 101 }, { 'if-match': `"${comet.version}"` });
    expect(edited.status, JSON.stringify(edited.body)).toBe(200);
    await call(server.url, 'POST', `/api/stories/${storyId}/rewind`, { toSceneId: third.sceneId });
    expect((await turn(storyId, 'wait quietly')).prompt.all).not.toContain('STICKY-COMET');
  });
});
