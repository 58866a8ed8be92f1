import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServerTestDatabase, type TestServerDatabase } from '../helpers/db.js';
import { runCli } from '../helpers/cli.js';

let database: TestServerDatabase;
let env: NodeJS.ProcessEnv;
let dir: string;
beforeAll(async () => {
  database = await createServerTestDatabase();
  env = { DATABASE_URL: database.url, LLM_PROVIDER: 'offline', EMBEDDINGS_PROVIDER: 'offline' };
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-admin-'));
});
afterAll(async () => {
  await database.drop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const storyCount = async () => Number((await database.db.query<{ n: string }>('SELECT count(*) AS n FROM stories')).rows[0]!.n);

// Each test below runs the CLI five or six times in a row; on a loaded machine one start can take many seconds.
describe('version, usage errors, delete and repeated imports', () => {
  it('prints the package version', async () => {
    const version = (JSON.parse(fs.readFileSync('package.json', 'utf8')) as { version: string }).version;
    const result = await runCli(['--version'], { env });
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(version);
  });

  it.each([[['import']], [['advance']], [['new', '--title', 'T']], [['list', '--bogus']], [['no-such-command']]])('exits 2 on the usage error %j', async (args) => {
    const result = await runCli(args, { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/error/i);
  });

  it('deletes only after a yes, or with --yes; with no answer it refuses with exit 2', async () => {
    const created = await runCli(['new', '--title', 'Doomed', '--setting', 'A harbour at dusk', '--json'], { env });
    const id = (JSON.parse(created.stdout) as { story: { id: string } }).story.id;
    const before = await storyCount();
    const noAnswer = await runCli(['delete', id], { env });
    expect(noAnswer.code).toBe(2);
    expect(noAnswer.stderr).toMatch(/--yes/);
    const declined = await runCli(['delete', id], { env, input: 'n\n' });
    expect(declined.code).toBe(0);
    expect(declined.stdout).toMatch(/Nothing was deleted/);
    expect(await storyCount()).toBe(before);
    const accepted = await runCli(['delete', id], { env, input: 'y\n' });
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(await storyCount()).toBe(before - 1);
    const again = await runCli(['delete', id, '--yes'], { env });
    expect(again.code).toBe(4);
  }, 300_000);

  it('says when a file was imported before and asks before making a copy', async () => {
    const created = await runCli(['new', '--title', 'Exported', '--setting', 'A harbour at dusk', '--json'], { env });
    const id = (JSON.parse(created.stdout) as { story: { id: string } }).story.id;
    const file = path.join(dir, 'story.json');
    expect((await runCli(['export', id, '--format', 'json', '--out', file], { env })).code).toBe(0);
    const first = await runCli(['import', file, '--json'], { env });
    expect(first.code, first.stderr).toBe(0);
    const firstId = (JSON.parse(first.stdout) as { storyId: string }).storyId;
    const before = await storyCount();

    const noAnswer = await runCli(['import', file], { env });
    expect(noAnswer.code).toBe(2);
    expect(noAnswer.stderr).toContain(`imported before, as "Exported" (${firstId})`);
    const declined = await runCli(['import', file], { env, input: 'n\n' });
    expect(declined.stdout).toMatch(/Nothing was imported/);
    expect(await storyCount()).toBe(before);

    const copy = await runCli(['import', file, '--yes', '--json'], { env });
    expect(copy.code, copy.stderr).toBe(0);
    expect((JSON.parse(copy.stdout) as { copyOf: { storyId: string } }).copyOf.storyId).toBe(firstId);
    expect(await storyCount()).toBe(before + 1);
  }, 300_000);
});
