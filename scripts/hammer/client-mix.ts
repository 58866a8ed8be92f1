import { createRandom } from './random.js';
import * as ops from './client-ops.js';
import * as edges from './edge-ops.js';
import type { ClientContext, ClientState } from './client-ops.js';

/**
 * The random mix every client runs until the shared operation budget or the deadline runs
 * out. Weights favour turns (where the concurrency is), with enough rewinds, talk, edits,
 * imports, reads and invalid requests to cross every path.
 */

const mix: readonly [weight: number, run: (ctx: ClientContext, client: ClientState) => Promise<unknown>][] = [
  [28, (ctx, c) => ops.advance(ctx, c, false)],
  [6, (ctx, c) => ops.advance(ctx, c, true)],
  [5, ops.doubleClick],
  [6, ops.regenerate],
  [4, ops.undo],
  [4, ops.rewind],
  [6, ops.talk],
  [6, ops.editCharacter],
  [2, ops.importStory],
  [3, (ctx, c) => ops.createStory(ctx, c)],
  [10, ops.read],
  [6, ops.invalidInput],
  [2, edges.createStoryKeyed],
  [2, edges.importKeyed],
  [3, edges.talkKeyed],
  [3, edges.leaveMidTurn],
  [1, edges.archiveDuringTurn],
];
const totalWeight = mix.reduce((sum, [weight]) => sum + weight, 0);

export interface OpBudget {
  remaining: number;
  deadline: number;
  started: number;
}

function takeOne(budget: OpBudget): boolean {
  if (budget.remaining <= 0 || Date.now() >= budget.deadline) return false;
  budget.remaining--;
  return true;
}

export async function runClient(ctx: ClientContext, id: number, seed: number, budget: OpBudget): Promise<void> {
  const client: ClientState = { id, random: createRandom(seed), pending: [] };
  while (takeOne(budget)) {
    // A client that lost an answer retries it with the same key before doing anything new.
    if (client.pending.length > 0 && client.random.chance(0.5) && (await ops.retryPending(ctx, client))) continue;
    let roll = client.random.next() * totalWeight;
    const [, run] = mix.find(([weight]) => (roll -= weight) < 0) ?? mix[0]!;
    await run(ctx, client);
  }
  // Leave nothing unknown behind: every lost keyed request is retried once more.
  for (let round = 0; round < 40 && client.pending.length > 0 && Date.now() < budget.deadline; round++) await ops.retryPending(ctx, client);
}
