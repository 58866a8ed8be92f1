import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServerTestDatabase, type TestServerDatabase } from '../helpers/db.js';
import { runCli } from '../helpers/cli.js';

let database: TestServerDatabase;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  database = await createServerTestDatabase();
  env = { DATABASE_URL: database.url, LLM_PROVIDER: 'offline', EMBEDDINGS_PROVIDER: 'offline', LIVINGWORLD_SUMMARIES: 'model', LIVINGWORLD_SUMMARY_EVERY: '1' };
}, 60_000);
afterAll(async () => database.drop());

describe('livingworld stats: calls by purpose and background jobs', () => {
  it('shows a story’s calls by purpose and its queued summary job, and refuses an unknown story', async () => {
    const created = await runCli(['new', '--title', 'Counted', '--setting', 'A windmill on a dyke', '--json'], { env });
    expect(created.code).toBe(0);
    const storyId = JSON.parse(created.stdout).story.id as string;
    // One-shot commands queue work but run no worker: scene 5 leaves one scene behind the window.
    for (let turn = 0; turn < 4; turn++) expect((await runCli(['advance', storyId, '1', '--json'], { env })).code).toBe(0);
    const stats = await runCli(['stats', '--json', '--story', storyId], { env });
    expect(stats.code).toBe(0);
    const figures = JSON.parse(stats.stdout);
    expect(figures.story.model_calls_by_purpose).toEqual({ scene: 5, repair: 0, summary: 0, reflection: 0, talk: 0 });
    expect(figures.story.background_jobs).toEqual({ summary: { queued: 1, running: 0, failed: 0, done: 0 } });
    expect(figures.model_calls_by_purpose.scene).toBe(5);
    const text = await runCli(['stats'], { env });
    expect(text.stdout).toMatch(/model_calls_by_purpose\s+\{"scene":5/);
    const unknown = await runCli(['stats', '--story', '00000000-0000-4000-8000-000000000000'], { env });
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/No story/i);
  }, 120_000);
});
