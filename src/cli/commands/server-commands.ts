import type { Command } from 'commander';
import { AppError } from '../../errors.js';
import { openRuntime } from '../../runtime.js';
import { createToken, ensureUser, listTokens, newTokenText, revokeToken } from '../../server/access/access-repo.js';
import { idempotentTransaction } from '../../idempotency/index.js';
import { retryWithKey } from '../retry-with-key.js';
import { printJson } from '../output.js';

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d{1,5}$/.test(value) || port > 65535) throw new AppError('validation', `--port must be 0–65535 (got ${value}).`);
  return port;
}

export function registerServerCommands(program: Command): void {
  program
    .command('serve')
    .description('HTTP API and web UI (127.0.0.1 by default; anywhere else needs a token first)')
    .option('--port <port>', 'port to listen on (0: any free port); default PORT or 3000', parsePort)
    .option('--host <host>', 'address to bind; default HOST or 127.0.0.1')
    .action(async (options: { port?: number; host?: string }) => {
      // Loaded here, not at the top: the HTTP stack costs every other command's start-up a few hundred ms.
      const [{ startServer }, { stopOnSignals }] = await Promise.all([import('../../server/start-server.js'), import('../../server/shutdown.js')]);
      const server = await startServer({ ...(options.host ? { host: options.host } : {}), ...(options.port !== undefined ? { port: options.port } : {}) });
      stopOnSignals(server);
      // Tests and scripts read the port from this line; keep its shape.
      process.stdout.write(`LivingWorld listening on ${server.url} (${server.runtime.providerDescription})\n`);
      if (server.runtime.providerNotice) process.stdout.write(`${server.runtime.providerNotice}\n`);
    });

  const token = program.command('token').description('API tokens for `serve` (auth turns on once one exists)');

  token
    .command('create')
    .description('create a token for a user (created if new); the token is printed once and only its hash is stored')
    .requiredOption('--user <name>', 'user name')
    .option('--json', 'print JSON')
    .action(async (options: { user: string; json?: boolean }) => {
      const runtime = await openRuntime();
      try {
        const user = await ensureUser(runtime.db, options.user);
        // The token is chosen before the write, so a retry that replays the answer (which
        // never holds the token itself) can still print it.
        const token = newTokenText();
        const { id } = await retryWithKey(['token create', user.id], (claim) =>
          idempotentTransaction(runtime.db, claim, async (tx) => ({ id: (await createToken(tx, user.id, token)).id })),
        );
        const created = { id, token };
        if (options.json) printJson({ user: user.name, id: created.id, token: created.token });
        else process.stdout.write(`${created.token}\nToken for ${user.name} (id ${created.id}). It is shown only now: store it safely.\n`);
      } finally {
        await runtime.close();
      }
    });

  token
    .command('list')
    .description('list tokens (never the tokens themselves)')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const runtime = await openRuntime();
      try {
        const tokens = await listTokens(runtime.db);
        if (options.json) {
          printJson({ tokens });
          return;
        }
        if (tokens.length === 0) process.stdout.write('No tokens: the server runs without authentication on 127.0.0.1.\n');
        for (const t of tokens) {
          const state = t.revokedAt ? `revoked ${t.revokedAt.toISOString()}` : `last used ${t.lastUsedAt?.toISOString() ?? 'never'}`;
          process.stdout.write(`${t.id}  ${t.prefix}…  ${t.user.padEnd(16)} created ${t.createdAt.toISOString()}  ${state}\n`);
        }
      } finally {
        await runtime.close();
      }
    });

  token
    .command('revoke')
    .description('revoke a token by its id or its prefix (as `token list` shows them)')
    .argument('<idOrPrefix>')
    .action(async (idOrPrefix: string) => {
      const runtime = await openRuntime();
      try {
        const count = await revokeToken(runtime.db, idOrPrefix);
        if (count === 0) throw new AppError('not_found', `No active token ${idOrPrefix}; see \`livingworld token list\`.`);
        process.stdout.write(`Revoked ${count} token${count === 1 ? '' : 's'}.\n`);
      } finally {
        await runtime.close();
      }
    });
}
