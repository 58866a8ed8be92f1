import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServerTestDatabase, type TestServerDatabase } from '../helpers/db.js';
import { call, startTestServer, type TestServer } from './test-server.js';

let database: TestServerDatabase;
let servers: TestServer[] = [];
beforeAll(async () => {
  database = await createServerTestDatabase({ poolSize: 10 });
  const env = { LIVINGWORLD_TURN_RATE_LIMIT: '4', LIVINGWORLD_TURN_RATE_WINDOW_MS: '60000' };
  servers = [await startTestServer(database.db, { env }), await startTestServer(database.db, { env })];
});
afterAll(async () => {
  for (const server of servers) await server.close();
  await database?.drop();
});

describe('the per-user rate limit', () => {
  it('is one budget across server processes sharing the database', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const server = servers[i % 2]!;
      const response = await call(server.url, 'POST', '/api/stories', { title: `Limited ${i}`, setting: 'A harbour' });
      statuses.push(response.status);
      if (response.status === 429) expect(response.body.error.code).toBe('rate_limited');
    }
    expect(statuses).toEqual([201, 201, 201, 201, 429, 429]);
  });
});
