import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobWorker, backgroundSettingsFor } from '../../src/jobs/index.js';
import { readModelCallsByPurpose } from '../../src/llm/model-call-counts.js';
import { createOpenAIProvider } from '../../src/llm/providers/openai.js';
import { createBackgroundJobHandlers } from '../../src/story/background-job-handlers.js';
import { createStory } from '../../src/story/create-story.js';
import { rewindStory } from '../../src/story/rewind-story.js';
import { takeTurn } from '../../src/story/take-turn.js';
import { loadFactsAt } from '../../src/world/index.js';
import { createServerTestDatabase, type TestServerDatabase } from '../helpers/db.js';
import { createTestEngine } from '../helpers/engine.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-model-servers.js';

/**
 * A scripted model on 127.0.0.1 (real HTTP, the OpenAI wire format): at scene 5, when the
 * player walked on, it reports a named possession and a promise as facts; no other answer mentions them again, and most
 * report no facts at all. What the storyteller is sent at scene 200 must still carry them on
 * that branch, and a branch that left before scene 5 must never see them.
 */

const summaryMarker = 'You keep a compact, factual record';

function sceneNumberOf(body: any): number {
  const text = (body.messages as { content: string }[]).map((m) => m.content).join('\n');
  return Number(/Write scene (\d+)/.exec(text)?.[1] ?? 0);
}

function scriptedAnswer(body: any): string {
  const system = String(body.messages?.[0]?.content ?? '');
  if (system.includes(summaryMarker)) return 'The traveller keeps walking the coast road, meeting fishers and tinkers.';
  const n = sceneNumberOf(body);
  const answer: Record<string, unknown> = {
    scene: `Scene ${n}. The coast road bends past another cove; gulls argue over the nets and the day wears on.`,
    choices: ['Walk on along the road', 'Rest by the nets', 'Ask the fishers for news'],
    characters: [{ name: 'Mara Vell', role: n === 5 ? 'present' : 'mentioned', importance: 0.4 }],
  };
  const walkedOn = (body.messages as { content: string }[]).some((m) => m.content.includes('The player chose: Walk on along the road'));
  if (n === 5 && walkedOn) {
    answer['facts'] = [
      { type: 'possession', subject: 'the silver compass', text: 'You carry the silver compass Mara Vell gave you.', status: 'added' },
      { type: 'promise', subject: 'the spring fair', text: 'You promised Mara Vell to bring the compass back by the spring fair.', status: 'added' },
    ];
  } else if (n % 50 === 0) {
    answer['facts'] = [{ type: 'place', subject: `cove ${n}`, text: `You found cove ${n}.` }];
  }
  return JSON.stringify(answer);
}

function promptOfScene(model: FakeOpenAI, sceneNumber: number, after = 0): string {
  const chat = model.chats.slice(after).find((record) => !String(record.body.messages[0].content).includes(summaryMarker) && sceneNumberOf(record.body) === sceneNumber);
  if (!chat) throw new Error(`no request for scene ${sceneNumber}`);
  return (chat.body.messages as { content: string }[]).map((m) => m.content).join('\n');
}

describe('story facts along a 200-scene branch (scripted model over HTTP)', () => {
  let server: TestServerDatabase;
  let model: FakeOpenAI;
  beforeAll(async () => {
    server = await createServerTestDatabase();
    model = await startFakeOpenAI();
    model.reply({ textFor: (body) => scriptedAnswer(body) });
  }, 60_000);
  afterAll(async () => {
    await model?.close();
    await server?.drop();
  });

  it('keeps a possession and a promise of scene 5 in the prompt of scene 200, and out of a branch that rewound before scene 5', async () => {
    const provider = createOpenAIProvider({ baseUrl: `${model.url}/v1`, model: 'qwen2.5-7b-instruct', timeoutMs: 10_000, maxRetries: 0 });
    const deps = { ...createTestEngine(server.db, provider), background: backgroundSettingsFor(provider, { summaries: 'model', summaryEveryScenes: 8 }) };
    const worker = createJobWorker({ db: server.db, log: deps.log, owner: deps.instanceId, handlers: createBackgroundJobHandlers(deps), skipStoriesGenerating: true });
    const { story, opening } = await createStory(deps, { title: 'Coast road', setting: 'A long coast road of coves and fishing villages' });
    const heads = [opening.scene.id];
    for (let n = 2; n <= 200; n++) {
      heads.push((await takeTurn(deps, { storyId: story.id, kind: 'advance', choiceNumber: 1 })).scene.id);
      if (n % 25 === 0) await worker.drain();
    }
    const at200 = promptOfScene(model, 200);
    expect(at200).toContain('What is true now');
    expect(at200).toContain('You carry the silver compass Mara Vell gave you.');
    expect(at200).toContain('You promised Mara Vell to bring the compass back by the spring fair.');
    // Summaries ran in the background and were read along the branch.
    expect(at200).toContain('The story so far (summary)');
    const calls = await readModelCallsByPurpose(server.db, story.id);
    expect(calls.scene).toBe(200);
    expect(calls.summary).toBeGreaterThanOrEqual(20);

    // Back to scene 4 and on along another choice: scene 5 never happened there.
    await rewindStory(deps, story.id, { toSceneId: heads[3]! });
    const before = model.chats.length;
    let head = '';
    for (let n = 5; n <= 12; n++) head = (await takeTurn(deps, { storyId: story.id, kind: 'advance', choiceNumber: 2 })).scene.id;
    await worker.drain();
    head = (await takeTurn(deps, { storyId: story.id, kind: 'advance', choiceNumber: 2 })).scene.id;
    const onBranch = model.chats.slice(before).map((chat) => (chat.body.messages as { content: string }[]).map((m) => m.content).join('\n')).join('\n');
    expect(onBranch).not.toContain('silver compass');
    expect(onBranch).not.toContain('spring fair');
    const branchFacts = (await loadFactsAt(server.db, story.id, head)).map((fact) => fact.text).join('\n');
    expect(branchFacts).not.toContain('silver compass');
    // While the first branch still knows it, read at its own head.
    expect((await loadFactsAt(server.db, story.id, heads[199]!)).map((fact) => fact.text)).toContain('You carry the silver compass Mara Vell gave you.');
  }, 600_000);
});
