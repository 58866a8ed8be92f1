/**
 * A separate process taking turns on one story, for multi-process tests. Arguments (JSON):
 * { url, storyId, requests: [{choiceNumber, instruction?, fromSceneId?}], startAt, latencyMs, leaseMs }
 * Prints one JSON line: { calls, results: [{ sceneId } | { error, headSceneId }] }.
 */
import { openServerDatabase } from '../../src/db/index.js';
import { isAppError } from '../../src/errors.js';
import { takeTurn } from '../../src/story/take-turn.js';
import { createCountingProvider } from './counting-provider.js';
import { createTestEngine } from './engine.js';

interface WorkerArgs {
  url: string;
  storyId: string;
  requests: { choiceNumber: number; instruction?: string; fromSceneId?: string }[];
  startAt: number;
  latencyMs: number;
  leaseMs: number;
}

const args = JSON.parse(process.argv[2]!) as WorkerArgs;
const db = await openServerDatabase({
  url: args.url,
  poolSize: 5,
  transactionDefaults: { isolation: 'read committed', statementTimeoutMs: 30_000, lockTimeoutMs: 5_000 },
});
const provider = createCountingProvider({ latencyMs: args.latencyMs });
const deps = createTestEngine(db, provider, { leaseMs: args.leaseMs, instanceId: `worker-${process.pid}` });
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
await new Promise((resolve) => setTimeout(resolve, Math.max(0, args.startAt - Date.now())));
const results = await Promise.all(
  args.requests.map(async (request) => {
    try {
      const result = await takeTurn(deps, { storyId: args.storyId, kind: 'advance', ...request });
      return { sceneId: result.scene.id, how: result.how };
    } catch (error) {
      if (!isAppError(error)) return { error: 'internal', message: String(error) };
      return { error: error.code, headSceneId: (error.details?.['headSceneId'] as string | undefined) ?? null };
    }
  }),
);
process.stdout.write(`${JSON.stringify({ calls: provider.calls, results })}\n`);
await db.close();
