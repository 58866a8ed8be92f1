import type { Command } from 'commander';
import { AppError } from '../../errors.js';
import { openRuntime } from '../../runtime.js';
import { getScenePrompt } from '../../story/scene-prompt-repo.js';
import { getStory } from '../../story/story-repo.js';
import { printJson } from '../output.js';

/** `livingworld prompt` (what the model was sent for a scene) and `livingworld doctor`. */
export function registerModelCommands(program: Command): void {
  program
    .command('prompt')
    .description('show exactly what the model was sent for a scene (default: the head scene), with token counts per section')
    .argument('<storyId>')
    .argument('[sceneId]')
    .option('--json', 'print JSON')
    .action(async (storyId: string, sceneId: string | undefined, options: { json?: boolean }) => {
      const runtime = await openRuntime();
      try {
        const target = sceneId ?? (await getStory(runtime.db, storyId)).headSceneId;
        if (!target) throw new AppError('not_found', `Story ${storyId} has no scenes yet.`);
        const prompt = await getScenePrompt(runtime.db, storyId, target);
        if (options.json) return printJson({ sceneId: target, prompt });
        const out = process.stdout;
        out.write(`Scene ${target}: ${prompt.provider} ${prompt.model}\n`);
        out.write(`context window ${prompt.contextWindow ?? 'n/a'}${prompt.contextSource ? ` (${prompt.contextSource})` : ''}`);
        out.write(`${prompt.numCtx ? `, num_ctx ${prompt.numCtx}` : ''}${prompt.maxTokens ? `, answer allowance ${prompt.maxTokens}` : ''}`);
        out.write(`${prompt.structuredOutput ? `, format ${prompt.structuredOutput}` : ''}\nprompt tokens ${prompt.promptTokens} (${prompt.tokenizer})\n\n`);
        for (const [name, tokens] of Object.entries(prompt.sections)) out.write(`  ${name.padEnd(14)} ${String(tokens).padStart(6)} tokens\n`);
        for (const message of prompt.messages) out.write(`\n──── ${message.role} ────\n${message.content}\n`);
      } finally {
        await runtime.close();
      }
    });

  program
    .command('doctor')
    .description('check the configured model and embedder: reachable, model present, context window, JSON schema, streaming, reasoning, embedding dimension')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const runtime = await openRuntime();
      try {
        // The model clients are loaded only here: `prompt` and every other command start without them.
        const { checkModelSetup } = await import('../../llm/check-model.js');
        const findings = await checkModelSetup(runtime.config, runtime.db);
        const failed = findings.some((finding) => finding.status === 'fail');
        if (options.json) printJson({ ok: !failed, findings });
        else {
          for (const finding of findings) {
            process.stdout.write(`${{ ok: '✓', warn: '!', fail: '✗' }[finding.status]} ${finding.check.padEnd(15)} ${finding.found}\n`);
            if (finding.fix) process.stdout.write(`  ${' '.repeat(15)} → ${finding.fix}\n`);
          }
          process.stdout.write(failed ? '\nA turn would fail: fix the items marked ✗.\n' : '\nReady.\n');
        }
        // 7 is the exit code of llm_unavailable: the model setup would fail a turn.
        if (failed) process.exitCode = 7;
      } finally {
        await runtime.close();
      }
    });
}
