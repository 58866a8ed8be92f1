import { AppError, isAppError } from '../errors.js';
import { sanitizeCharacters, type SanitizeLog } from './sanitize-characters.js';
import { sanitizeFacts } from '../world/story-facts.js';
import type { SceneOutput } from './scene-output.js';

/** Why a model answer could not be used; kept in `AppError.details.reason`. */
export type ParseProblemReason =
  | 'empty_output'
  | 'invalid_json'
  | 'empty_scene'
  | 'scene_too_long'
  | 'no_choices'
  | 'choice_count'
  | 'empty_choice'
  | 'duplicate_choices';

// Match the column limits of scenes.content and choices.content.
const maxSceneLength = 100_000;
const maxChoiceLength = 1000;

function badOutput(reason: ParseProblemReason, message: string, details: Record<string, unknown> = {}): AppError {
  return new AppError('llm_bad_output', message, { details: { reason, ...details } });
}

export interface ParseSceneOptions {
  choiceCount: number;
  /** Receives ignored characters and fields; callers log them at debug. */
  log?: SanitizeLog;
}

/**
 * Reads a model's answer, JSON or prose in any of the styles models actually write, into a
 * scene with exactly `choiceCount` choices. Anything less usable throws `llm_bad_output`
 * with a `reason`, so that the caller can re-ask with `describeParseProblem`.
 */
export function parseSceneOutput(text: string, options: ParseSceneOptions): SceneOutput {
  const trimmed = text.trim();
  if (trimmed === '') throw badOutput('empty_output', 'The model returned an empty answer.');

  const json = extractJsonObject(trimmed);
  if (json.kind === 'invalid') {
    throw badOutput('invalid_json', `The model answered with JSON that does not parse: ${json.error}`);
  }
  const draft = json.kind === 'object' ? draftFromJson(json.value) : draftFromProse(trimmed);
  return finishScene(draft, options);
}

interface SceneDraft {
  scene: string;
  choices: string[];
  characters: unknown;
  facts?: unknown;
}

function finishScene(draft: SceneDraft, options: ParseSceneOptions): SceneOutput {
  const scene = draft.scene.replace(/\r\n?/g, '\n').replace(/\n{3,}/g, '\n\n').trim();
  if (scene === '') throw badOutput('empty_scene', 'The model answer has no scene text.');
  if (scene.length > maxSceneLength) {
    throw badOutput('scene_too_long', `The scene is ${scene.length} characters long; at most ${maxSceneLength} fit.`);
  }
  const choices = draft.choices.map((choice) => cleanChoiceText(choice).slice(0, maxChoiceLength).trim());
  const expected = options.choiceCount;
  if (choices.length === 0) {
    throw badOutput('no_choices', 'The model answer has no numbered choices.', { found: 0, expected });
  }
  if (choices.length !== expected) {
    throw badOutput('choice_count', `The model gave ${choices.length} choices instead of ${expected}.`, {
      found: choices.length,
      expected,
    });
  }
  if (choices.some((choice) => choice === '')) {
    throw badOutput('empty_choice', 'One of the choices is empty.', { found: choices.length, expected });
  }
  const distinct = new Set(choices.map((choice) => choice.toLowerCase()));
  if (distinct.size !== choices.length) {
    throw badOutput('duplicate_choices', 'Two of the choices are the same.', { found: choices.length, expected });
  }
  const facts = sanitizeFacts(draft.facts);
  return { scene, choices, characters: sanitizeCharacters(draft.characters, options.log), ...(facts.length > 0 ? { facts } : {}) };
}

// ---------------------------------------------------------------- JSON answers

type JsonExtraction = { kind: 'none' } | { kind: 'invalid'; error: string } | { kind: 'object'; value: Record<string, unknown> };

/** The end (exclusive) of the balanced {...} starting at `start`, ignoring braces in strings. */
function findObjectEnd(text: string, start: number): number | undefined {
  let depth = 0;
  let inString = false;
  for (let index = start; index < text.length; index++) {
    const char = text[index];
    if (inString) {
      if (char === '\\') index++;
      else if (char === '"') inString = false;
    } else if (char === '"') inString = true;
    else if (char === '{') depth++;
    else if (char === '}' && --depth === 0) return index + 1;
  }
  return undefined;
}

function parseLenient(candidate: string): unknown {
  try {
    return JSON.parse(candidate);
  } catch (error) {
    // Trailing commas are the most common slip of small models; nothing else is repaired.
    const repaired = candidate.replace(/,(\s*[}\]])/g, '$1');
    if (repaired === candidate) throw error;
    return JSON.parse(repaired);
  }
}

/**
 * Finds the JSON object in an answer: bare, inside a ```json fence, or after some chatter.
 * An answer that is plainly meant as JSON but does not parse is 'invalid', not prose.
 */
function extractJsonObject(text: string): JsonExtraction {
  const fence = /```[ \t]*(\w*)[ \t]*\n([\s\S]*?)(?:```|$)/.exec(text);
  const fenced = fence?.[2]?.trim();
  const region = fenced !== undefined && fenced.startsWith('{') ? fenced : text;
  const start = region.indexOf('{');
  if (start === -1) return { kind: 'none' };
  const meantAsJson = region === fenced || start === 0 || /"(?:scene|choices)"\s*:/.test(region.slice(start));
  const end = findObjectEnd(region, start);
  if (end === undefined) return meantAsJson ? { kind: 'invalid', error: 'the object is not closed' } : { kind: 'none' };
  let value: unknown;
  try {
    value = parseLenient(region.slice(start, end));
  } catch (error) {
    return meantAsJson ? { kind: 'invalid', error: (error as Error).message } : { kind: 'none' };
  }
  if (!isRecord(value)) return { kind: 'none' };
  const looksLikeScene = [...sceneKeys, 'choices', 'options'].some((key) => key in value);
  return looksLikeScene || meantAsJson ? { kind: 'object', value } : { kind: 'none' };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function firstString(record: Record<string, unknown>, keys: readonly string[]): string | undefined {
  for (const key of keys) {
    const value = record[key];
    if (typeof value === 'string' && value.trim() !== '') return value;
  }
  return undefined;
}

const sceneKeys = ['scene', 'text', 'story', 'narrative', 'prose', 'content'] as const;
const choiceTextKeys = ['text', 'content', 'choice', 'label', 'action', 'option', 'description', 'title'] as const;

function draftFromJson(value: Record<string, unknown>): SceneDraft {
  // Some models nest everything under "scene": {"text": ..., "choices": [...]}.
  const source = isRecord(value['scene']) ? { ...value, ...value['scene'] } : value;
  const sceneText = firstString(source, sceneKeys) ?? '';
  const choices = choicesFromJson(source['choices'] ?? source['options'] ?? source['actions']);
  if (choices === undefined) {
    // No choice list: the model may have written the numbered choices into the scene text.
    const fromProse = draftFromProse(sceneText);
    return { ...fromProse, characters: source['characters'], facts: source['facts'] };
  }
  return { scene: sceneText, choices, characters: source['characters'], facts: source['facts'] };
}

function choicesFromJson(raw: unknown): string[] | undefined {
  if (typeof raw === 'string') return draftFromProse(raw).choices;
  if (isRecord(raw)) {
    // {"1": "Go north", "2": "Wait"}
    const entries = Object.entries(raw).filter(([key]) => /^\d+$/.test(key));
    entries.sort(([a], [b]) => Number(a) - Number(b));
    return entries.map(([, text]) => (typeof text === 'string' ? text : ''));
  }
  if (!Array.isArray(raw)) return undefined;
  const numbered = raw.map((item, position) => {
    if (typeof item === 'string') return { number: position + 1, text: stripChoiceNumber(item) };
    if (!isRecord(item)) return { number: position + 1, text: '' };
    const number = Number(item['number'] ?? item['id'] ?? item['index'] ?? position + 1);
    return { number: Number.isFinite(number) ? number : position + 1, text: stripChoiceNumber(firstString(item, choiceTextKeys) ?? '') };
  });
  // Models sometimes list objects out of order but number them; respect their numbers.
  return numbered.sort((a, b) => a.number - b.number).map((choice) => choice.text);
}

function stripChoiceNumber(text: string): string {
  return text.replace(/^\s*(?:\*\*|__)?\s*(?:(?:choice|option)\s*#?\s*)?\(?\d{1,2}\s*[.):\-–—]+\s*(?:\*\*|__)?\s*/i, '');
}

function cleanChoiceText(text: string): string {
  return text
    .replace(/\*\*|__/g, '')
    .replace(/\s+/g, ' ')
    .replace(/^[\s"'“”‘’*_`]+|[\s"'“”‘’*_`]+$/g, '')
    .replace(/^\[(.*)\]$/, '$1')
    .trim();
}

// ---------------------------------------------------------------- prose answers

// "1. x", "1) x", "**1.** x", "**1. x**", "Choice 1: x", "Option 1 - x", "- 1. x", "(1) x", "### 1. x"
const choiceLinePattern =
  /^\s*(?:#{1,6}\s*)?(?:[-*•+]\s+)?(?:\*\*|__)?\s*(?:(?:choice|option)\s*#?\s*)?[([]?(\d{1,2})\s*[.):\]\-–—]+(?:\s*(?:\*\*|__)\s*|\s+)(.*\S)\s*$/i;
const bulletLinePattern = /^\s*[-*•+]\s+(.*\S)\s*$/;
// A line that introduces the list rather than belonging to the scene.
const choiceHeadingPattern =
  /^[#>*_\s]*(?:your\s+|possible\s+|available\s+)?(?:choices|options|actions|what\s+(?:do|will|would|should|can)\s+you\s+do|what\s+now|what\s+next|next\s+steps?|decide|choose)\b/i;
const horizontalRulePattern = /^\s*(?:[-*_]\s*){3,}$/;
const leadingChatterPattern = /^(?:sure|certainly|of course|okay|ok|alright|absolutely|great|here(?:'s| is| are| comes))\b/i;
const sceneLabelPattern = /^[#*_\s]*(?:scene|chapter|turn)\s*\d*\s*[:.]?[*_\s]*$|^#{1,6}\s*(?:scene|chapter|turn)\s*\d+\b.*$/i;

interface ChoiceLine {
  lineIndex: number;
  number: number;
  text: string;
}

function findChoiceList(lines: string[]): { start: number; choices: string[] } | undefined {
  const matches: ChoiceLine[] = [];
  lines.forEach((line, lineIndex) => {
    const match = choiceLinePattern.exec(line);
    if (match) matches.push({ lineIndex, number: Number(match[1]), text: match[2] ?? '' });
  });
  // The choices are the last run numbered 1, 2, 3…; an earlier list belongs to the prose.
  let best: ChoiceLine[] | undefined;
  let current: ChoiceLine[] = [];
  for (const match of matches) {
    if (match.number === 1) {
      current = [match];
      best = current;
    } else if (current.length > 0 && match.number === current[current.length - 1]!.number + 1) {
      current.push(match);
    }
  }
  if (best === undefined) return undefined;
  const items = best;
  const extras = items.map((item, position) => {
    // Lines between two items describe the first ("**1. The docks**\nWalk down to the water.").
    const next = items[position + 1];
    return next ? lines.slice(item.lineIndex + 1, next.lineIndex).filter((line) => line.trim() !== '') : [];
  });
  // After the last item, only its own paragraph continues it, and only when the other items had
  // descriptions too or it is indented; anything else is chatter ("Let me know what you choose!").
  const itemsHaveDescriptions = extras.some((lines) => lines.length > 0);
  const last = items[items.length - 1]!;
  const lastExtra = extras[extras.length - 1]!;
  for (const line of lines.slice(last.lineIndex + 1)) {
    if (line.trim() === '' || !(itemsHaveDescriptions || /^\s+\S/.test(line))) break;
    lastExtra.push(line);
  }
  const choices = items.map((item, position) => {
    const description = extras[position]!.map((line) => line.trim()).join(' ');
    if (description === '') return item.text;
    // A bare title gets a dash before its description; a sentence just runs on.
    const title = item.text.replace(/(\*\*|__)\s*$/, '').trimEnd();
    return /[.!?:;,]$/.test(title) ? `${title} ${description}` : `${title} — ${description}`;
  });
  return { start: items[0]!.lineIndex, choices };
}

/** "…what will you do? 1. Run 2. Hide 3. Fight" written on one line. */
function findInlineChoiceList(lines: string[]): { start: number; choices: string[]; before: string } | undefined {
  for (let lineIndex = lines.length - 1; lineIndex >= 0; lineIndex--) {
    const line = lines[lineIndex]!;
    const first = /(?:^|\s)\(?1[.)]\s+/.exec(line);
    if (!first || !/\s\(?2[.)]\s+/.test(line.slice(first.index))) continue;
    const listText = line.slice(first.index);
    const choices = listText.split(/(?:^|\s)\(?\d[.)]\s+/).filter((part) => part.trim() !== '');
    return { start: lineIndex, choices, before: line.slice(0, first.index) };
  }
  return undefined;
}

/** A bulleted list under a "What do you do?" heading: choices without numbers. */
function findBulletedChoiceList(lines: string[]): { start: number; choices: string[] } | undefined {
  let end = lines.length;
  while (end > 0 && !bulletLinePattern.test(lines[end - 1]!)) end--;
  let start = end;
  while (start > 0 && bulletLinePattern.test(lines[start - 1]!)) start--;
  if (start === end) return undefined;
  let heading = start - 1;
  while (heading >= 0 && lines[heading]!.trim() === '') heading--;
  if (heading < 0 || !choiceHeadingPattern.test(lines[heading]!.trim())) return undefined;
  const choices = lines.slice(start, end).map((line) => bulletLinePattern.exec(line)?.[1] ?? '');
  return { start, choices };
}

function isHeadingLine(line: string): boolean {
  const trimmed = line.trim();
  if (trimmed === '' || horizontalRulePattern.test(trimmed)) return true;
  if (trimmed.length > 120) return false;
  return choiceHeadingPattern.test(trimmed) || /:[*_\s]*$/.test(trimmed);
}

function cleanProse(lines: string[]): string {
  let end = lines.length;
  while (end > 0 && isHeadingLine(lines[end - 1]!)) end--;
  let start = 0;
  while (start < end) {
    const line = lines[start]!.trim();
    const isChatter = line.length < 160 && leadingChatterPattern.test(line) && /[:!.]$/.test(line);
    if (line === '' || isChatter || sceneLabelPattern.test(line) || horizontalRulePattern.test(line)) start++;
    else break;
  }
  const prose = lines.slice(start, end);
  // "Scene: The fog rolls in…" keeps the prose and loses the label.
  if (prose.length > 0) prose[0] = prose[0]!.replace(/^[*_\s]*(?:scene|story)\s*:[*_\s]*/i, '');
  return prose.join('\n');
}

function draftFromProse(text: string): SceneDraft {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const list = findChoiceList(lines) ?? findBulletedChoiceList(lines);
  if (list) return { scene: cleanProse(lines.slice(0, list.start)), choices: list.choices, characters: undefined };
  const inline = findInlineChoiceList(lines);
  if (inline) {
    const before = [...lines.slice(0, inline.start), inline.before];
    return { scene: cleanProse(before), choices: inline.choices, characters: undefined };
  }
  return { scene: cleanProse(lines), choices: [], characters: undefined };
}

// ---------------------------------------------------------------- corrective re-ask

/** One sentence telling the model what was wrong with its answer, for a corrective re-ask. */
export function describeParseProblem(error: unknown): string {
  if (!isAppError(error, 'llm_bad_output')) {
    return 'Your answer could not be read. Answer with one JSON object with "scene", "choices" and "characters".';
  }
  const details = error.details ?? {};
  const expected = typeof details['expected'] === 'number' ? details['expected'] : undefined;
  const exactly = expected === undefined ? 'the requested number of' : `exactly ${expected}`;
  switch (details['reason'] as ParseProblemReason | undefined) {
    case 'empty_output':
      return `Your answer was empty. Write the scene and ${exactly} numbered choices.`;
    case 'invalid_json':
      return 'Your JSON did not parse. Answer with one valid JSON object only, with no text around it.';
    case 'empty_scene':
      return 'Your answer had no scene text. Write the scene prose in "scene", separate from the choices.';
    case 'scene_too_long':
      return 'Your scene was far too long. Keep the scene to a few paragraphs.';
    case 'no_choices':
      return `Your answer had no choices. End with ${exactly} numbered choices for the player.`;
    case 'choice_count':
      return `You gave ${String(details['found'])} choices; give ${exactly} choices, no more and no fewer.`;
    case 'empty_choice':
      return `One of your choices was empty. Give ${exactly} choices, each a short action.`;
    case 'duplicate_choices':
      return `Two of your choices were the same. Give ${exactly} clearly different choices.`;
    default:
      return 'Your answer could not be used. Answer with one JSON object with "scene", "choices" and "characters".';
  }
}
