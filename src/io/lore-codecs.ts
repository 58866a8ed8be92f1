import { isDeepStrictEqual } from 'node:util';
import { cleanKeywords, defaultLoreOptions, loreRoles, lorePositions, maxInclusionGroupChars, type LoreOptions, type LorePosition, type LoreRole, type SelectiveLogic } from '../memory/lore-options.js';
import { isRegexKeyword } from '../memory/lore-keys.js';
import { isPlainObject, type JsonObject, type JsonValue } from './validation.js';

/**
 * Lore entries as two formats write them: SillyTavern World Info (`key`, `keysecondary`,
 * `order`, `disable`…) and a card's character_book (`keys`, `secondary_keys`,
 * `insertion_order`, SillyTavern's extras under `extensions`). A codec reads an entry into
 * our fields and writes one field back. Export starts from the entry as imported and writes
 * only the fields whose value differs from what the import read, so everything else —
 * unknown fields included — comes back byte for byte.
 */
export interface LoreFields extends LoreOptions {
  title: string;
  keywords: string[];
  content: string;
  enabled: boolean;
}

export const loreFieldNames = ['title', 'keywords', 'content', 'enabled', ...(Object.keys(defaultLoreOptions) as (keyof LoreOptions)[])] as const;
export type LoreFieldName = (typeof loreFieldNames)[number];

export interface LoreCodec {
  /** The fields an entry stands for; `fallbackTitle` when it names itself nowhere. */
  read(entry: JsonObject, fallbackTitle: string): LoreFields;
  /** Writes one field into the entry (a copy the caller owns). */
  write(entry: JsonObject, field: LoreFieldName, fields: LoreFields): void;
  /** A complete new entry in this format, for lore that did not come from one. */
  create(fields: LoreFields, id: number): JsonObject;
}

/** Column limits of lore_entries. */
export const loreLimits = { title: 200, content: 8000 } as const;

/** Cuts text to a column's limit without splitting a surrogate pair. */
export function fitToColumn(value: string, limit: number): string {
  if (value.length <= limit) return value;
  const end = /[\uD800-\uDBFF]/.test(value[limit - 1] ?? '') ? limit - 1 : limit;
  return value.slice(0, end);
}

const str = (value: unknown): string => (typeof value === 'string' ? value : '');
const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((k): k is string => typeof k === 'string') : []);
function int(value: unknown, min: number, max: number): number | undefined {
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof number === 'number' && Number.isFinite(number) ? Math.min(max, Math.max(min, Math.round(number))) : undefined;
}

const selectiveLogicCodes: SelectiveLogic[] = ['and_any', 'not_all', 'not_any', 'and_all'];

/** SillyTavern's position codes, in the order of `lorePositions` (0 before the characters … 6 after the examples). */
const positionByCode: readonly LorePosition[] = lorePositions;
function positionFromCode(code: number | undefined, fallback: LorePosition): LorePosition {
  return code !== undefined && code >= 0 && code < positionByCode.length ? positionByCode[code]! : fallback;
}
const positionCodes = Object.fromEntries(lorePositions.map((position, code) => [position, code])) as Record<LorePosition, number>;

/** Position codes we cannot place as SillyTavern would, for the import's notes. */
export const unplacedPositions: Record<number, string> = {
  7: 'an outlet (placed only where a {{outlet::…}} macro asks for it)',
};

/**
 * Options both formats write as one plain value: World Info under its own name, a card's
 * book under `extensions` with SillyTavern's snake_case name.
 */
type SimpleKind = 'count' | 'flag' | 'flagOrNull' | 'weight' | 'text' | 'recursionLevel';
const simpleOptions: readonly [field: keyof SimpleOptionFields, worldInfo: string, cardExtension: string, kind: SimpleKind][] = [
  ['inclusionGroup', 'group', 'group', 'text'],
  ['groupOverride', 'groupOverride', 'group_override', 'flag'],
  ['groupWeight', 'groupWeight', 'group_weight', 'weight'],
  ['useGroupScoring', 'useGroupScoring', 'use_group_scoring', 'flagOrNull'],
  ['sticky', 'sticky', 'sticky', 'count'],
  ['cooldown', 'cooldown', 'cooldown', 'count'],
  ['delay', 'delay', 'delay', 'count'],
  ['excludeRecursion', 'excludeRecursion', 'exclude_recursion', 'flag'],
  ['preventRecursion', 'preventRecursion', 'prevent_recursion', 'flag'],
  ['delayUntilRecursion', 'delayUntilRecursion', 'delay_until_recursion', 'recursionLevel'],
  ['ignoreBudget', 'ignoreBudget', 'ignore_budget', 'flag'],
];

function readSimple(kind: SimpleKind, value: unknown): LoreOptions[keyof LoreOptions] {
  switch (kind) {
    case 'count':
      return int(value, 0, 1000) ?? 0;
    case 'weight':
      return int(value, 0, 1_000_000) ?? defaultLoreOptions.groupWeight;
    case 'flag':
      return value === true;
    case 'flagOrNull':
      return typeof value === 'boolean' ? value : null;
    case 'text':
      return typeof value === 'string' ? fitToColumn(value.trim(), maxInclusionGroupChars) : '';
    case 'recursionLevel':
      // Older files say true (level 1); newer ones give the level.
      return value === true ? 1 : (int(value, 0, 1000) ?? 0);
  }
}
type SimpleOptionFields = Pick<
  LoreOptions,
  'inclusionGroup' | 'groupOverride' | 'groupWeight' | 'useGroupScoring' | 'sticky' | 'cooldown' | 'delay' | 'excludeRecursion' | 'preventRecursion' | 'delayUntilRecursion' | 'ignoreBudget'
>;
const readSimpleOptions = (source: JsonObject, name: (spec: (typeof simpleOptions)[number]) => string) =>
  Object.fromEntries(simpleOptions.map((spec) => [spec[0], readSimple(spec[3], source[name(spec)])])) as unknown as SimpleOptionFields;
const simpleOptionFor = (field: LoreFieldName) => simpleOptions.find(([name]) => name === field);

const roleFromCode = (code: number | undefined): LoreRole => loreRoles[code ?? 0] ?? 'system';

function titleFrom(candidates: string[], fallback: string): string {
  const title = candidates.map((c) => c.replace(/\s+/g, ' ').trim()).find((c) => c.length > 0) ?? fallback;
  return fitToColumn(title, loreLimits.title);
}

export const worldInfoCodec: LoreCodec = {
  read(entry, fallbackTitle) {
    const keys = cleanKeywords(strings(entry['key']));
    return {
      title: titleFrom([str(entry['comment']), keys.join(', ')], fallbackTitle),
      keywords: keys,
      content: fitToColumn(str(entry['content']), loreLimits.content),
      enabled: entry['disable'] !== true,
      // SillyTavern reads the secondary keys unless selective is explicitly off.
      secondaryKeywords: entry['selective'] === false ? [] : cleanKeywords(strings(entry['keysecondary'])),
      selectiveLogic: selectiveLogicCodes[int(entry['selectiveLogic'], 0, 3) ?? 0]!,
      constant: entry['constant'] === true,
      insertionOrder: int(entry['order'], -1_000_000, 1_000_000) ?? defaultLoreOptions.insertionOrder,
      position: positionFromCode(int(entry['position'], 0, 99), defaultLoreOptions.position),
      depth: int(entry['depth'], 0, 1000) ?? defaultLoreOptions.depth,
      depthRole: roleFromCode(int(entry['role'], 0, 2)),
      probability: entry['useProbability'] === false ? 100 : (int(entry['probability'], 0, 100) ?? 100),
      caseSensitive: entry['caseSensitive'] === true,
      matchWholeWords: entry['matchWholeWords'] !== false,
      scanDepth: int(entry['scanDepth'], 0, 1000) ?? null,
      ...(readSimpleOptions(entry, (spec) => spec[1]) as SimpleOptionFields),
    };
  },
  write(entry, field, fields) {
    switch (field) {
      case 'title':
        entry['comment'] = fields.title;
        break;
      case 'keywords':
        entry['key'] = fields.keywords;
        break;
      case 'content':
        entry['content'] = fields.content;
        break;
      case 'enabled':
        entry['disable'] = !fields.enabled;
        break;
      case 'secondaryKeywords':
        entry['keysecondary'] = fields.secondaryKeywords;
        if (fields.secondaryKeywords.length > 0) entry['selective'] = true;
        break;
      case 'selectiveLogic':
        entry['selectiveLogic'] = selectiveLogicCodes.indexOf(fields.selectiveLogic);
        break;
      case 'constant':
        entry['constant'] = fields.constant;
        break;
      case 'insertionOrder':
        entry['order'] = fields.insertionOrder;
        break;
      case 'position':
        entry['position'] = positionCodes[fields.position];
        break;
      case 'depth':
        entry['depth'] = fields.depth;
        break;
      case 'probability':
        entry['probability'] = fields.probability;
        entry['useProbability'] = true;
        break;
      case 'caseSensitive':
        entry['caseSensitive'] = fields.caseSensitive;
        break;
      case 'matchWholeWords':
        entry['matchWholeWords'] = fields.matchWholeWords;
        break;
      case 'scanDepth':
        entry['scanDepth'] = fields.scanDepth;
        break;
      case 'depthRole':
        entry['role'] = loreRoles.indexOf(fields.depthRole);
        break;
      default: {
        const spec = simpleOptionFor(field);
        if (spec) entry[spec[1]] = fields[spec[0]] as JsonValue;
      }
    }
  },
  create(fields, id) {
    // SillyTavern's template for a new entry (newWorldInfoEntryTemplate), then our fields.
    const entry: JsonObject = {
      uid: id,
      key: [],
      keysecondary: [],
      comment: '',
      content: '',
      constant: false,
      vectorized: false,
      selective: true,
      selectiveLogic: 0,
      addMemo: true,
      order: 100,
      position: 0,
      disable: false,
      ignoreBudget: false,
      excludeRecursion: false,
      preventRecursion: false,
      matchPersonaDescription: false,
      matchCharacterDescription: false,
      matchCharacterPersonality: false,
      matchCharacterDepthPrompt: false,
      matchScenario: false,
      matchCreatorNotes: false,
      delayUntilRecursion: 0,
      probability: 100,
      useProbability: true,
      depth: 4,
      outletName: '',
      group: '',
      groupOverride: false,
      groupWeight: 100,
      scanDepth: null,
      caseSensitive: null,
      matchWholeWords: null,
      useGroupScoring: null,
      automationId: '',
      role: 0,
      sticky: null,
      cooldown: null,
      delay: null,
      triggers: [],
      displayIndex: id,
    };
    for (const field of loreFieldNames) this.write(entry, field, fields);
    return entry;
  },
};

const extensionsOf = (entry: JsonObject): JsonObject => (isPlainObject(entry['extensions']) ? (entry['extensions'] as JsonObject) : {});
function setExtension(entry: JsonObject, key: string, value: JsonValue): void {
  entry['extensions'] = { ...extensionsOf(entry), [key]: value };
}

/** V3's use_regex: the keys are patterns; we write patterns as /pattern/. */
const asPattern = (key: string) => (isRegexKeyword(key) ? key : `/${key}/`);

export const cardBookCodec: LoreCodec = {
  read(entry, fallbackTitle) {
    const extensions = extensionsOf(entry);
    const regex = entry['use_regex'] === true;
    const keys = cleanKeywords(strings(entry['keys']));
    const positionCode = int(extensions['position'], 0, 99);
    return {
      title: titleFrom([str(entry['name']), str(entry['comment']), keys.join(', ')], fallbackTitle),
      keywords: regex ? keys.map(asPattern) : keys,
      content: fitToColumn(str(entry['content']), loreLimits.content),
      enabled: entry['enabled'] !== false,
      // The V2 spec: secondary keys count only when selective is true.
      secondaryKeywords: entry['selective'] === true ? cleanKeywords(strings(entry['secondary_keys'])).map((k) => (regex ? asPattern(k) : k)) : [],
      selectiveLogic: selectiveLogicCodes[int(extensions['selectiveLogic'], 0, 3) ?? 0]!,
      constant: entry['constant'] === true,
      insertionOrder: int(entry['insertion_order'], -1_000_000, 1_000_000) ?? defaultLoreOptions.insertionOrder,
      position: positionFromCode(positionCode, entry['position'] === 'after_char' ? 'after_characters' : 'before_characters'),
      depth: int(extensions['depth'], 0, 1000) ?? defaultLoreOptions.depth,
      probability: extensions['useProbability'] === false ? 100 : (int(extensions['probability'], 0, 100) ?? 100),
      caseSensitive: (entry['case_sensitive'] ?? extensions['case_sensitive']) === true,
      matchWholeWords: extensions['match_whole_words'] !== false,
      scanDepth: int(extensions['scan_depth'], 0, 1000) ?? null,
      depthRole: roleFromCode(int(extensions['role'], 0, 2)),
      ...(readSimpleOptions(extensions, (spec) => spec[2]) as SimpleOptionFields),
    };
  },
  write(entry, field, fields) {
    switch (field) {
      case 'title':
        entry[typeof entry['name'] === 'string' || typeof entry['comment'] !== 'string' ? 'name' : 'comment'] = fields.title;
        break;
      case 'keywords':
        entry['keys'] = fields.keywords;
        if (entry['use_regex'] === true) entry['use_regex'] = false;
        break;
      case 'content':
        entry['content'] = fields.content;
        break;
      case 'enabled':
        entry['enabled'] = fields.enabled;
        break;
      case 'secondaryKeywords':
        entry['secondary_keys'] = fields.secondaryKeywords;
        entry['selective'] = fields.secondaryKeywords.length > 0;
        if (entry['use_regex'] === true) entry['use_regex'] = false;
        break;
      case 'selectiveLogic':
        setExtension(entry, 'selectiveLogic', selectiveLogicCodes.indexOf(fields.selectiveLogic));
        break;
      case 'constant':
        entry['constant'] = fields.constant;
        break;
      case 'insertionOrder':
        entry['insertion_order'] = fields.insertionOrder;
        break;
      case 'position':
        entry['position'] = fields.position === 'after_characters' ? 'after_char' : 'before_char';
        setExtension(entry, 'position', positionCodes[fields.position]);
        break;
      case 'depth':
        setExtension(entry, 'depth', fields.depth);
        break;
      case 'probability':
        setExtension(entry, 'probability', fields.probability);
        setExtension(entry, 'useProbability', true);
        break;
      case 'caseSensitive':
        entry['case_sensitive'] = fields.caseSensitive;
        break;
      case 'matchWholeWords':
        setExtension(entry, 'match_whole_words', fields.matchWholeWords);
        break;
      case 'scanDepth':
        setExtension(entry, 'scan_depth', fields.scanDepth);
        break;
      case 'depthRole':
        setExtension(entry, 'role', loreRoles.indexOf(fields.depthRole));
        break;
      default: {
        const spec = simpleOptionFor(field);
        if (spec) setExtension(entry, spec[2], fields[spec[0]] as JsonValue);
      }
    }
  },
  create(fields, id) {
    const entry: JsonObject = { id, keys: [], content: '', extensions: {}, enabled: true, insertion_order: 100, name: '', comment: '' };
    for (const field of loreFieldNames) this.write(entry, field, fields);
    return entry;
  },
};

/**
 * The entry to export: the imported one with only the fields that changed since written
 * back, or a new entry when the lore did not come from this format.
 */
export function exportLoreEntry(codec: LoreCodec, current: LoreFields, original: JsonObject | undefined, fallbackTitle: string, newId: number): JsonObject {
  if (!original) return codec.create(current, newId);
  const asImported = codec.read(original, fallbackTitle);
  const entry: JsonObject = structuredClone(original);
  for (const field of loreFieldNames) {
    if (!isDeepStrictEqual(asImported[field], current[field])) codec.write(entry, field, current);
  }
  return entry;
}

/** Our fields of a stored lore entry. */
export function loreFieldsOf(entry: LoreFields): LoreFields {
  return Object.fromEntries(loreFieldNames.map((field) => [field, entry[field]])) as unknown as LoreFields;
}
