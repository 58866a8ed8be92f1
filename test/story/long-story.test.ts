import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/index.js';
import { createStory } from '../../src/story/create-story.js';
import { takeTurn } from '../../src/story/take-turn.js';
import { buildTurnContext } from '../../src/memory/build-turn-context.js';
import { createEmbeddedTestDatabase } from '../helpers/db.js';
import { createCountingProvider } from '../helpers/counting-provider.js';
import { createTestEngine } from '../helpers/engine.js';

// The opening plus 499 turns: scene 500.
const turns = 499;
let db: Database;
beforeAll(async () => {
  db = await createEmbeddedTestDatabase();
});
afterAll(async () => db.close());

describe('a long story', () => {
  // 500 real turns: generous time on a slow or busy machine.
  it(`keeps the prompt bounded over ${turns} turns and still recalls the first scene's key fact`, { timeout: 600_000 }, async () => {
    // Measured in characters, so the bound does not move with the token estimate's ratio.
    const promptChars: number[] = [];
    const provider = createCountingProvider({
      latencyMs: 0,
      answer: (request, call) => {
        promptChars.push(request.messages.map((m) => m.content).join('\n').length);
        const scene =
          call === 1
            ? 'The harbourmaster presses a brass key into your palm: it opens the sea chest under the lighthouse stairs.'
            : `Scene ${call}: rain drums on the tin roofs while gulls argue over the nets, and the tide turns again.`;
        return JSON.stringify({ scene, choices: [`Walk on (${call})`, `Wait (${call})`, `Turn back (${call})`], characters: [] });
      },
    });
    const deps = createTestEngine(db, provider);
    const { story } = await createStory(deps, { title: 'Long', setting: 'A rainy harbour' });
    for (let i = 0; i < turns; i++) await takeTurn(deps, { storyId: story.id, kind: 'advance', choiceNumber: (i % 3) + 1 });

    expect(provider.calls).toBe(turns + 1);
    const late = promptChars.slice(-20);
    // System prompt + context within its budget: flat, not growing with the story (about 4,500
    // and 400 tokens of English prose at four characters a token).
    expect(Math.max(...late)).toBeLessThan(18_000);
    expect(Math.max(...late) - Math.min(...late)).toBeLessThan(1_600);

    const { rows } = await db.query<{ head: string }>('SELECT head_scene_id AS head FROM stories WHERE id = $1', [story.id]);
    const context = await buildTurnContext(db, deps.embedder, { storyId: story.id, headSceneId: rows[0]!.head, queryText: 'the brass key for the sea chest' });
    const recalled = [context.summary ?? '', ...context.memories, ...context.similarScenes].join('\n');
    expect(recalled).toContain('brass key');
    expect(context.estimatedTokens).toBeLessThanOrEqual(3_000);
    const summaries = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM memories WHERE story_id = $1 AND kind = 'summary'`, [story.id]);
    expect(summaries.rows[0]!.n).toBeGreaterThan(0);
  });
});
