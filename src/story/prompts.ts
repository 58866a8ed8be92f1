import fs from 'node:fs';
import { AppError } from '../errors.js';
import type { ChatMessage, CompletionRequest, TaskCharacter } from '../llm/provider.js';
import { sceneJsonSchema } from './scene-output.js';
import { packagePath } from '../package-root.js';

export const defaultSystemPromptPath = packagePath('prompts', 'system.md');

/** The storyteller's system prompt: the shipped prompts/system.md, or a file the user points to. */
export function loadSystemPrompt(filePath: string = defaultSystemPromptPath): string {
  try {
    return fs.readFileSync(filePath, 'utf8').trim();
  } catch (error) {
    throw new AppError('config', `Cannot read the system prompt at ${filePath}: ${(error as Error).message}`, { cause: error });
  }
}

/** Everything the storyteller is told for one scene. */
export interface SceneContext {
  storyTitle: string;
  setting: string;
  /** The author's standing instructions for this story. */
  instructions?: string;
  /** The story's own system prompt, replacing the shipped one. */
  systemPromptOverride?: string;
  sceneNumber: number;
  recentScenes: { sceneNumber: number; content: string }[];
  /** Rolling summary of the scenes before the recent window. */
  summary?: string;
  /** The story facts true at the head, one line each ("what is true now"). */
  facts?: string[];
  memories?: string[];
  /** Activated lore placed before the character definitions. */
  lore?: string[];
  /** Activated lore placed after the character definitions. */
  loreAfterCharacters?: string[];
  /** Activated lore placed among the recent scenes, `depth` scenes from the end, in its role's voice. */
  loreAtDepth?: { depth: number; text: string; role?: 'system' | 'user' | 'assistant' }[];
  /** Activated lore opening and closing the author's instructions (SillyTavern's author's note). */
  loreAuthorNoteTop?: string[];
  loreAuthorNoteBottom?: string[];
  /** Activated lore given as example blocks before and after the card's example dialogue. */
  loreExamplesTop?: string[];
  loreExamplesBottom?: string[];
  /** The player's name when it is not the default "you". */
  playerName?: string;
  /** What a character card asks of the prompt (Character Card V2). */
  card?: CardPromptParts;
  /** The text of the option the player took; absent for the opening scene. */
  chosenAction?: string;
  playerInstruction?: string;
  characters: TaskCharacter[];
  seed: number;
  choiceCount: number;
}

/** A card's prompt fields, macros not yet replaced (replaceMacrosInRequest does that last). */
export interface CardPromptParts {
  characterName: string;
  /** Replaces the storyteller's system prompt; `{{original}}` in it stands for that prompt. */
  systemPrompt?: string;
  /** Given after the story so far; `{{original}}` stands for nothing (there is no global one). */
  postHistoryInstructions?: string;
  /** mes_example: dialogue showing the character's voice. */
  exampleMessages?: string;
}

const originalMacro = /\{\{original\}\}/gi;

/** The V2 rule: a card's non-empty system_prompt replaces ours, with {{original}} standing for ours. */
function cardSystemPrompt(ours: string, card: CardPromptParts | undefined): string {
  const theirs = card?.systemPrompt?.trim();
  return theirs ? theirs.replace(originalMacro, () => ours) : ours;
}

/**
 * mes_example as SillyTavern writes it (blocks that each start with a <START> line), with
 * lore placed as example blocks of its own before and after the card's.
 */
function exampleDialogue(examples: string | undefined, loreBefore: readonly string[] = [], loreAfter: readonly string[] = []): string | undefined {
  const cardBlocks = (examples ?? '')
    .split(/^\s*<START>\s*$/im)
    .map((block) => block.trim())
    .filter(Boolean);
  const blocks = [...loreBefore, ...cardBlocks, ...loreAfter].map((block) => block.trim()).filter(Boolean);
  return blocks.length > 0 ? blocks.map((block) => clip(block, 2000)).join('\n---\n') : undefined;
}

/** The author's instructions between the lore placed at their top and at their bottom. */
function authorInstructions(input: SceneContext): string | undefined {
  return joinParts([bulletList(input.loreAuthorNoteTop), input.instructions?.trim(), bulletList(input.loreAuthorNoteBottom)]) || undefined;
}

/** How lore at a depth is headed: in the voice of the role the entry asks for. */
const depthLoreHeading: Record<'system' | 'user' | 'assistant', string> = {
  system: '### Lore',
  user: "### Lore (the player's note)",
  assistant: "### Lore (the storyteller's note)",
};

/** The recent scenes, with lore placed at its depth (0: after the newest scene). */
function recentScenesWithLore(scenes: readonly { sceneNumber: number; content: string }[], loreAtDepth: SceneContext['loreAtDepth']): string {
  const parts = scenes.map((scene) => `### Scene ${scene.sceneNumber}\n${clip(scene.content, maxSceneChars)}`);
  // One block per place and role, system first, as SillyTavern groups them.
  const byPlace = new Map<number, Map<string, string[]>>();
  for (const item of loreAtDepth ?? []) {
    const place = Math.max(0, parts.length - item.depth);
    const roles = byPlace.get(place) ?? new Map<string, string[]>();
    const role = item.role ?? 'system';
    roles.set(role, [...(roles.get(role) ?? []), `- ${clip(item.text, maxItemChars)}`]);
    byPlace.set(place, roles);
  }
  const out: string[] = [];
  for (let place = 0; place <= parts.length; place++) {
    const roles = byPlace.get(place);
    for (const role of ['system', 'user', 'assistant'] as const) {
      const lore = roles?.get(role);
      if (lore) out.push(`${depthLoreHeading[role]}\n${lore.join('\n')}`);
    }
    if (place < parts.length) out.push(parts[place]!);
  }
  return out.join('\n\n');
}

export interface PromptOptions {
  /** Read the system prompt from this file instead of prompts/system.md. */
  systemPromptPath?: string;
}

// Generous limits that keep one runaway memory or scene from crowding out the rest.
const maxSceneChars = 6000;
const maxItemChars = 1000;
const maxRepairEchoChars = 8000;

function clip(text: string, maxChars: number): string {
  const trimmed = text.trim();
  return trimmed.length > maxChars ? `${trimmed.slice(0, maxChars - 1)}…` : trimmed;
}

function section(title: string, body: string | undefined): string | undefined {
  return body && body.trim() !== '' ? `## ${title}\n${body.trim()}` : undefined;
}

function joinParts(parts: readonly (string | undefined)[]): string {
  return parts.filter(Boolean).join('\n\n');
}

function bulletList(items: readonly string[] | undefined): string | undefined {
  const kept = (items ?? []).map((item) => item.trim()).filter(Boolean);
  return kept.length > 0 ? kept.map((item) => `- ${clip(item, maxItemChars)}`).join('\n') : undefined;
}

function describeCharacter(character: TaskCharacter): string {
  const facts = [
    character.description,
    character.personality && `personality: ${character.personality}`,
    character.scenario && `scenario: ${clip(character.scenario, maxItemChars)}`,
    character.mood && `mood: ${character.mood}`,
    character.trust !== undefined && `trust in the player: ${character.trust.toFixed(2)}`,
    character.sentiment !== undefined && `feeling toward the player: ${character.sentiment.toFixed(2)}`,
  ].filter(Boolean);
  const memories = (character.memories ?? []).slice(0, 5).map((memory) => `\n  - remembers: ${clip(memory, maxItemChars)}`);
  return `- ${character.name}${facts.length > 0 ? ` (${facts.join('; ')})` : ''}${memories.join('')}`;
}

/** The scene JSON schema with the story's number of choices (the shared schema says 3). */
export function sceneSchemaFor(choiceCount: number): CompletionRequest['jsonSchema'] {
  if (choiceCount === 3) return sceneJsonSchema;
  const { properties } = sceneJsonSchema.schema;
  return {
    name: sceneJsonSchema.name,
    schema: {
      ...sceneJsonSchema.schema,
      properties: { ...properties, choices: { ...properties.choices, minItems: choiceCount, maxItems: choiceCount } },
    },
  };
}

function answerFormat(choiceCount: number): string {
  const choices = Array.from({ length: choiceCount }, (_, index) => `"<choice ${index + 1}>"`).join(', ');
  return [
    'Answer with one JSON object and nothing before or after it:',
    `{"scene": "<the scene prose, without the choices>", "choices": [${choices}], "characters": [{"name": "<name>", "role": "present", "importance": 0.5, "description": "…", "personality": "…", "goals": "…", "mood": "…", "emotion": {"valence": 0, "arousal": 0, "dominance": 0}, "thought": "…", "action": "…", "reaction": "…", "relationships": [{"target": "player", "trustDelta": 0, "sentimentDelta": 0, "familiarityDelta": 0.1, "type": "acquaintance"}]}], "facts": [{"type": "possession", "subject": "the silver key", "text": "You carry the silver key Mara gave you.", "status": "added"}]}`,
    `Give exactly ${choiceCount} choices. In "facts", report only what this scene changed: possessions, injuries, promises, places discovered and open questions (type possession, injury, promise, place or question), with status "resolved" when one stops being true.`,
  ].join('\n');
}

function describeTurn(input: SceneContext): string {
  if (!input.chosenAction && !input.playerInstruction) {
    return `Write scene ${input.sceneNumber}, the opening scene: bring the player into the setting and introduce at least one named person.`;
  }
  const lines = [`Write scene ${input.sceneNumber}, which follows directly from the player's decision.`];
  if (input.chosenAction) lines.push(`The player chose: ${clip(input.chosenAction, maxItemChars)}`);
  if (input.playerInstruction) {
    lines.push(`The player's own instruction, which the scene must carry out: ${clip(input.playerInstruction, maxItemChars)}`);
  }
  return lines.join('\n');
}

/** The model call for one scene: messages for real models, the same facts as `task` for the offline storyteller. */
export function buildSceneRequest(input: SceneContext, options: PromptOptions = {}): CompletionRequest {
  const systemPrompt = cardSystemPrompt(input.systemPromptOverride?.trim() || loadSystemPrompt(options.systemPromptPath), input.card);
  const recentScenes = [...input.recentScenes].sort((a, b) => a.sceneNumber - b.sceneNumber);
  const player = input.playerName?.trim();
  // Lore placed after the character definitions counts with them, lore at a depth with the
  // recent scenes, a card's post-history instructions with this turn: each section is counted
  // where it is read.
  const sections = {
    system: systemPrompt,
    story: joinParts([
      section(
        'Story',
        [`Title: ${input.storyTitle}`, `Setting: ${input.setting}`, player ? `The player's character is ${player}; address them as "you".` : undefined]
          .filter(Boolean)
          .join('\n'),
      ),
      section("Author's instructions", authorInstructions(input)),
      section(
        input.card ? `How ${input.card.characterName} speaks (examples of voice, not events of this story)` : 'Examples of voice (not events of this story)',
        exampleDialogue(input.card?.exampleMessages, input.loreExamplesTop, input.loreExamplesBottom),
      ),
    ]),
    summary: section('The story so far (summary)', input.summary),
    facts: section('What is true now', bulletList(input.facts)),
    memories: section('Relevant memories', bulletList(input.memories)),
    lore: section('Lore', bulletList(input.lore)),
    characters: joinParts([
      section('Characters in the story', input.characters.length > 0 ? input.characters.map(describeCharacter).join('\n') : undefined),
      section('More lore', bulletList(input.loreAfterCharacters)),
    ]),
    recentScenes: section('Recent scenes, oldest first', recentScenesWithLore(recentScenes, input.loreAtDepth)),
    thisTurn: joinParts([section('This turn', describeTurn(input)), section('Instructions', input.card?.postHistoryInstructions?.replace(originalMacro, ''))]),
    format: answerFormat(input.choiceCount),
  };
  const messages: ChatMessage[] = [
    { role: 'system', content: joinParts([sections.system, sections.story]) },
    {
      role: 'user',
      content: joinParts([sections.summary, sections.facts, sections.memories, sections.lore, sections.characters, sections.recentScenes, sections.thisTurn, sections.format]),
    },
  ];
  const task: CompletionRequest['task'] = {
    kind: 'scene',
    storyTitle: input.storyTitle,
    setting: input.setting,
    sceneNumber: input.sceneNumber,
    recentScenes: recentScenes.map((scene) => scene.content),
    characters: input.characters,
    seed: input.seed,
    choiceCount: input.choiceCount,
    ...(input.instructions ? { instructions: input.instructions } : {}),
    ...(input.chosenAction ? { chosenAction: input.chosenAction } : {}),
    ...(input.playerInstruction ? { playerInstruction: input.playerInstruction } : {}),
  };
  const jsonSchema = sceneSchemaFor(input.choiceCount);
  const named = Object.fromEntries(Object.entries(sections).filter(([, text]) => text)) as CompletionRequest['sections'];
  return { messages, task, purpose: 'scene', sections: named, ...(jsonSchema ? { jsonSchema } : {}) };
}

/** The same request again, with the unusable answer and what was wrong with it, for one corrective re-ask. */
export function buildRepairRequest(original: CompletionRequest, badText: string, problem: string): CompletionRequest {
  return {
    ...original,
    messages: [
      ...original.messages,
      { role: 'assistant', content: clip(badText, maxRepairEchoChars) || '(empty answer)' },
      {
        role: 'user',
        content: `That answer could not be used: ${problem}\nWrite the scene again, in the format asked for, and nothing else.`,
      },
    ],
    purpose: 'repair',
  };
}

export interface TalkContext {
  storyTitle?: string;
  setting: string;
  character: TaskCharacter;
  message: string;
  seed: number;
}

/** A player talking directly to one character, who answers in character. */
export function buildTalkRequest(input: TalkContext): CompletionRequest {
  const { character } = input;
  const profile = [
    character.description && `Description: ${character.description}`,
    character.personality && `Personality: ${character.personality}`,
    character.mood && `Current mood: ${character.mood}`,
    character.trust !== undefined && `Trust in the player (0 to 1): ${character.trust.toFixed(2)}`,
    character.sentiment !== undefined && `Feeling toward the player (-1 to 1): ${character.sentiment.toFixed(2)}`,
    bulletList(character.memories) && `What you remember:\n${bulletList(character.memories)}`,
  ].filter(Boolean);
  const storyLine = input.storyTitle ? ` in the story "${input.storyTitle}"` : '';
  return {
    messages: [
      {
        role: 'system',
        content: [
          `You are ${character.name}, a character${storyLine}, set in: ${input.setting}`,
          ...profile,
          'Answer the player in character, in one to four sentences of direct speech, as plain text. Let your mood, ' +
            'personality and trust colour the answer. Use only what you remember; do not narrate the player or offer choices.',
        ].join('\n'),
      },
      { role: 'user', content: clip(input.message, 4000) },
    ],
    task: { kind: 'talk', setting: input.setting, character, message: input.message, seed: input.seed },
    purpose: 'talk',
  };
}

export interface SummaryContext {
  /** Scene prose, oldest first. */
  scenes: string[];
  previousSummary?: string;
  seed: number;
  /** Upper bound the model is asked to respect. */
  maxWords?: number;
}

/** Folds scenes into the rolling summary that stands in for them once they leave the recent window. */
export function buildSummaryRequest(input: SummaryContext): CompletionRequest {
  const maxWords = input.maxWords ?? 250;
  const parts = [
    section('Summary so far', input.previousSummary),
    section('Scenes to add, oldest first', input.scenes.map((scene) => clip(scene, maxSceneChars)).join('\n\n---\n\n')),
    `Write one updated summary of the whole story in at most ${maxWords} words, as plain text. Keep every ` +
      'character name, place, promise, injury, possession and unresolved question; drop description and dialogue.',
  ];
  return {
    messages: [
      { role: 'system', content: 'You keep a compact, factual record of an interactive story for the storyteller to rely on.' },
      { role: 'user', content: parts.filter(Boolean).join('\n\n') },
    ],
    task: {
      kind: 'summary',
      scenes: input.scenes,
      seed: input.seed,
      ...(input.previousSummary ? { previousSummary: input.previousSummary } : {}),
    },
    purpose: 'summary',
    temperature: 0.2,
  };
}

export interface ReflectionContext {
  characterName: string;
  /** The character's memories since its last reflection, numbered from 1 in this order. */
  memories: { content: string; importance: number }[];
  seed: number;
}

/**
 * Generative Agents' reflection: from a character's recent memories, a few higher-level
 * conclusions, each citing the numbered memories it rests on.
 */
export function buildReflectionRequest(input: ReflectionContext): CompletionRequest {
  const numbered = input.memories.map((memory, index) => `${index + 1}. ${clip(memory.content, maxItemChars)}`).join('\n');
  return {
    messages: [
      { role: 'system', content: `You are the inner voice of ${input.characterName}, a character in an interactive story.` },
      {
        role: 'user',
        content: [
          `What ${input.characterName} remembers, numbered:`,
          numbered,
          `What three high-level conclusions can ${input.characterName} draw from these, about the player, the others and the situation? ` +
            'Answer with one JSON object and nothing else: {"reflections": [{"text": "<one sentence>", "evidence": [<numbers of the memories it rests on>]}]}',
        ].join('\n\n'),
      },
    ],
    task: { kind: 'reflection', characterName: input.characterName, memories: input.memories, seed: input.seed },
    purpose: 'reflection',
    temperature: 0.3,
  };
}
