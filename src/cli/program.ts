import { Command, CommanderError } from 'commander';
import { AppError, errorCodes, isAppError } from '../errors.js';
import { registerStoryCommands } from './commands/story-commands.js';
import { registerAdminCommands } from './commands/admin-commands.js';
import { registerWorldCommands } from './commands/world-commands.js';
import { registerServerCommands } from './commands/server-commands.js';
import { registerModelCommands } from './commands/model-commands.js';
import { LineReader } from './line-reader.js';
import { packageVersion } from '../package-root.js';

function buildProgram(): Command {
  const program = new Command('livingworld')
    .description('Interactive stories with characters who remember. Runs offline; point it at Ollama or an OpenAI-compatible server for a real model.')
    .version(packageVersion, '-V, --version', 'print the version')
    // The program's own options come before the command: `lore edit … --version N` is the lore
    // entry's version, not a request for LivingWorld's.
    .enablePositionalOptions()
    .exitOverride()
    .showHelpAfterError();

  program.action(async () => {
    const [{ openInteractiveEngineRuntime }, { runMainMenu }] = await Promise.all([import('./open-interactive-runtime.js'), import('./menu.js')]);
    const reader = new LineReader();
    const runtime = await openInteractiveEngineRuntime(reader).catch((error: unknown) => {
      reader.close();
      throw error;
    });
    try {
      await runMainMenu(runtime, reader);
    } finally {
      reader.close();
      await runtime.close();
    }
  });

  program
    .command('play')
    .description('play a story interactively (the newest one when no id is given)')
    .argument('[storyId]')
    .action(async (storyId: string | undefined) => {
      const [{ openInteractiveEngineRuntime }, { playStory }] = await Promise.all([import('./open-interactive-runtime.js'), import('./play.js')]);
      const reader = new LineReader();
      const runtime = await openInteractiveEngineRuntime(reader).catch((error: unknown) => {
        reader.close();
        throw error;
      });
      try {
        let id = storyId;
        if (!id) {
          const { listStories } = await import('../story/story-repo.js');
          id = (await listStories(runtime.db, { limit: 1 }))[0]?.id;
          if (!id) throw new AppError('not_found', "No stories yet. Create one with 'livingworld new --title T --setting S' or run 'livingworld'.");
        }
        await playStory(runtime, reader, id);
      } finally {
        reader.close();
        await runtime.close();
      }
    });

  registerStoryCommands(program);
  registerAdminCommands(program);
  registerWorldCommands(program);
  registerServerCommands(program);
  registerModelCommands(program);
  return program;
}

/** Errors become one line on stderr with a non-zero exit; stacks only at LOG_LEVEL=debug. */
function reportError(error: unknown): number {
  const debug = process.env['LOG_LEVEL'] === 'debug' || process.env['LOG_LEVEL'] === 'trace';
  // Commander has already printed what was wrong; a usage error is bad input (2), like any other.
  if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : errorCodes.validation.exitCode;
  if (isAppError(error) && error.code !== 'internal') {
    process.stderr.write(`livingworld: ${error.message}\n`);
    if (debug && error.cause) process.stderr.write(`${(error.cause as Error).stack ?? String(error.cause)}\n`);
    return error.exitCode;
  }
  const cause = isAppError(error) ? error.cause : error;
  process.stderr.write(`livingworld: internal error: ${(cause as Error)?.message ?? String(cause)}. Run with LOG_LEVEL=debug for details.\n`);
  if (debug) process.stderr.write(`${(cause as Error)?.stack ?? ''}\n`);
  return 1;
}

// `livingworld show ID | head -1`: once the reader has gone, the rest of the output has nowhere
// to go and the command ends quietly, as command-line tools do, instead of crashing on EPIPE.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(0);
});

const program = buildProgram();
try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.exitCode = reportError(error);
}
