import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import { createOfflineProvider } from '../../src/llm/providers/offline.js';
import { parseSceneOutput } from '../../src/story/parse-scene.js';
import {
  buildRepairRequest,
  buildSceneRequest,
  buildSummaryRequest,
  buildTalkRequest,
  defaultSystemPromptPath,
  loadSystemPrompt,
  type SceneContext,
} from '../../src/story/prompts.js';
import { sceneJsonSchema } from '../../src/story/scene-output.js';

function context(overrides: Partial<SceneContext> = {}): SceneContext {
  return {
    storyTitle: 'The Dark Light',
    setting: 'A foggy harbour town where ships vanish.',
    instructions: 'Keep it eerie, never gory.',
    sceneNumber: 5,
    recentScenes: [
      { sceneNumber: 4, content: 'You reach the breakwater as the tide turns.' },
      { sceneNumber: 3, content: 'Mara Quill tells you about the missing ships.' },
    ],
    summary: 'You came to Port Varen to find your brother.',
    memories: ['Mara owes the harbourmaster money.'],
    lore: ['The lighthouse has been dark since the winter storm.'],
    chosenAction: 'Ask Mara about the lighthouse',
    playerInstruction: 'look for the lighthouse keeper',
    characters: [{ name: 'Mara Quill', personality: 'secretive', mood: 'wary', trust: 0.4, memories: ['You saved her nets.'] }],
    seed: 77,
    choiceCount: 3,
    ...overrides,
  };
}

function allText(messages: { content: string }[]): string {
  return messages.map((message) => message.content).join('\n');
}

describe('buildSceneRequest', () => {
  it('puts the shipped system prompt first, then the story, its context and the turn', () => {
    const request = buildSceneRequest(context());
    expect(request.messages[0]?.role).toBe('system');
    expect(request.messages[0]?.content.startsWith(fs.readFileSync(defaultSystemPromptPath, 'utf8').trim())).toBe(true);
    const text = allText(request.messages);
    for (const fact of [
      'The Dark Light',
      'A foggy harbour town where ships vanish.',
      'Keep it eerie, never gory.',
      'You came to Port Varen to find your brother.',
      'Mara owes the harbourmaster money.',
      'The lighthouse has been dark since the winter storm.',
      'Mara Quill',
      'You saved her nets.',
      'Ask Mara about the lighthouse',
      'look for the lighthouse keeper',
    ]) {
      expect(text).toContain(fact);
    }
    // Recent scenes appear oldest first whatever order they were given in.
    expect(text.indexOf('Mara Quill tells you')).toBeLessThan(text.indexOf('You reach the breakwater'));
  });

  it('asks for JSON per sceneJsonSchema and carries the same facts as the offline task', () => {
    const request = buildSceneRequest(context());
    expect(request.purpose).toBe('scene');
    expect(request.jsonSchema).toBe(sceneJsonSchema);
    expect(allText(request.messages)).toContain('Give exactly 3 choices.');
    expect(request.task).toEqual({
      kind: 'scene',
      storyTitle: 'The Dark Light',
      setting: 'A foggy harbour town where ships vanish.',
      instructions: 'Keep it eerie, never gory.',
      sceneNumber: 5,
      recentScenes: ['Mara Quill tells you about the missing ships.', 'You reach the breakwater as the tide turns.'],
      chosenAction: 'Ask Mara about the lighthouse',
      playerInstruction: 'look for the lighthouse keeper',
      characters: context().characters,
      seed: 77,
      choiceCount: 3,
    });
  });

  it('asks for the configured number of choices in the schema too', () => {
    const request = buildSceneRequest(context({ choiceCount: 4 }));
    const choices = (request.jsonSchema?.schema['properties'] as Record<string, Record<string, unknown>>)['choices'];
    expect(choices).toMatchObject({ minItems: 4, maxItems: 4 });
    expect(sceneJsonSchema.schema.properties.choices.minItems).toBe(3);
  });

  it("uses the story's own system prompt instead of the shipped one", () => {
    const request = buildSceneRequest(context({ systemPromptOverride: 'You are a grim chronicler.' }));
    expect(request.messages[0]?.content.startsWith('You are a grim chronicler.')).toBe(true);
    expect(request.messages[0]?.content).not.toContain('You are the storyteller of LivingWorld');
  });

  it('reads the system prompt from another file when given a path', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-prompt-'));
    const file = path.join(dir, 'system.md');
    fs.writeFileSync(file, 'Edited prompt.\n');
    expect(buildSceneRequest(context(), { systemPromptPath: file }).messages[0]?.content.startsWith('Edited prompt.')).toBe(true);
    expect(() => loadSystemPrompt(path.join(dir, 'missing.md'))).toThrow(AppError);
  });

  it('describes an opening scene when there is no choice yet', () => {
    const request = buildSceneRequest(context({ sceneNumber: 1, recentScenes: [], chosenAction: undefined, playerInstruction: undefined }));
    expect(allText(request.messages)).toContain('opening scene');
    expect(request.task).not.toHaveProperty('chosenAction');
  });

  it('drives the offline storyteller to a parseable scene that reflects the instruction', async () => {
    const request = buildSceneRequest(context());
    const completion = await createOfflineProvider({ seed: 1 }).complete(request);
    const scene = parseSceneOutput(completion.text, { choiceCount: 3 });
    expect(scene.scene).toContain('look for the lighthouse keeper');
  });
});

describe('buildRepairRequest', () => {
  it('appends the bad answer and what was wrong, keeping the original request', () => {
    const original = buildSceneRequest(context());
    const repair = buildRepairRequest(original, '1. Run\n2. Hide', 'You gave 2 choices; give exactly 3 choices, no more and no fewer.');
    expect(repair.purpose).toBe('repair');
    expect(repair.messages.slice(0, original.messages.length)).toEqual(original.messages);
    expect(repair.messages.at(-2)).toEqual({ role: 'assistant', content: '1. Run\n2. Hide' });
    expect(repair.messages.at(-1)?.role).toBe('user');
    expect(repair.messages.at(-1)?.content).toContain('You gave 2 choices');
    expect(repair.jsonSchema).toBe(original.jsonSchema);
    expect(repair.task).toEqual(original.task);
    expect(original.messages).toHaveLength(2);
  });
});

describe('buildTalkRequest and buildSummaryRequest', () => {
  it('builds a talk request in character with a matching task', () => {
    const character = { name: 'Mara Quill', personality: 'secretive', mood: 'wary', trust: 0.4, memories: ['You saved her nets.'] };
    const request = buildTalkRequest({ setting: 'A harbour.', character, message: 'Where is the keeper?', seed: 3 });
    expect(request.purpose).toBe('talk');
    expect(request.messages[0]?.content).toContain('You are Mara Quill');
    expect(request.messages[0]?.content).toContain('You saved her nets.');
    expect(request.messages.at(-1)).toEqual({ role: 'user', content: 'Where is the keeper?' });
    expect(request.task).toEqual({ kind: 'talk', setting: 'A harbour.', character, message: 'Where is the keeper?', seed: 3 });
  });

  it('builds a summary request with the previous summary and the scenes', () => {
    const request = buildSummaryRequest({ scenes: ['Scene one.', 'Scene two.'], previousSummary: 'Before.', seed: 9, maxWords: 100 });
    expect(request.purpose).toBe('summary');
    const text = allText(request.messages);
    expect(text).toContain('Before.');
    expect(text).toContain('Scene one.');
    expect(text).toContain('at most 100 words');
    expect(request.task).toEqual({ kind: 'summary', scenes: ['Scene one.', 'Scene two.'], previousSummary: 'Before.', seed: 9 });
  });
});
