import { z } from 'zod';
import { AppError } from '../errors.js';

/** A problem in an imported file, located by a JSON path such as `scenes[12].parent_id`. */
export interface ImportIssue {
  path: string;
  message: string;
}

/** A change made so that a file could be imported: where, in the file's own terms, and what was done. */
export interface ImportRepair {
  path: string;
  repair: string;
}

export function formatJsonPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out === '' ? '(root)' : out;
}

/** One AppError `validation` whose message names the first problem and where it is. */
export function importValidationError(what: string, issues: readonly ImportIssue[]): AppError {
  const first = issues[0] ?? { path: '(root)', message: 'is invalid' };
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
  return new AppError('validation', `Invalid ${what}: ${first.path}: ${first.message}${more}`, {
    details: { issues: issues.slice(0, 20) },
  });
}

export function issuesFromZod(error: z.ZodError): ImportIssue[] {
  return error.issues.map((issue) => ({ path: formatJsonPath(issue.path), message: issue.message }));
}

// Control characters other than \n \r \t make no sense in prose and NUL cannot be stored in PostgreSQL.
const forbiddenControl = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;
// Lone surrogates cannot be encoded as UTF-8; PostgreSQL refuses them inside jsonb.
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function textProblem(value: string): string | undefined {
  const control = forbiddenControl.exec(value);
  if (control) {
    const code = control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    return `contains the control character U+${code} at offset ${control.index} (only \\n, \\r and \\t are allowed)`;
  }
  if (loneSurrogate.test(value)) return 'contains an unpaired UTF-16 surrogate (not valid Unicode)';
  return undefined;
}

const forbiddenControlAll = new RegExp(forbiddenControl.source, 'g');
const loneSurrogateAll = new RegExp(loneSurrogate.source, 'g');

/** The text without what textProblem() refuses: control characters (other than \n \r \t) and unpaired surrogates. */
export function removeForbiddenCharacters(value: string): string {
  return value.replace(forbiddenControlAll, '').replace(loneSurrogateAll, '');
}

/** The first `max` UTF-16 units of `value`, never ending on half a surrogate pair. */
export function clampText(value: string, max: number): string {
  if (value.length <= max) return value;
  const cut = value.slice(0, max);
  return /[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut;
}

/** A text field: a string of at most `max` characters without control characters. */
export function text(options: { min?: number; max: number; trimmedMin?: boolean }) {
  return z
    .string()
    .max(options.max, `is longer than ${options.max} characters`)
    .superRefine((value, ctx) => {
      const problem = textProblem(value);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
      const min = options.min ?? 0;
      const measured = options.trimmedMin ? value.trim().length : value.length;
      if (measured < min) ctx.addIssue({ code: 'custom', message: min === 1 ? 'must not be empty' : `must have at least ${min} characters` });
    });
}

const isoTimestamp = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})$/;

/** An ISO 8601 timestamp with a time zone that PostgreSQL accepts as timestamptz. */
export const timestamp = z.string().refine((value) => {
  const match = isoTimestamp.exec(value);
  if (!match) return false;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (year < 1 || month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return false;
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCDate() === day && date.getUTCMonth() === month - 1;
}, 'is not an ISO 8601 timestamp with a time zone (e.g. 2025-12-30T18:02:11.412Z)');

export const MAX_JSON_DEPTH = 32;

/** Where a JSON value breaks what PostgreSQL jsonb can store, or undefined if it is fine. */
export function jsonValueProblem(value: unknown, maxChars: number): { path: PropertyKey[]; message: string } | undefined {
  let serialized: string | undefined;
  try {
    serialized = JSON.stringify(value);
  } catch {
    return { path: [], message: 'is not serialisable JSON' };
  }
  if (serialized === undefined) return { path: [], message: 'is not a JSON value' };
  if (serialized.length > maxChars) return { path: [], message: `is larger than ${maxChars} characters of JSON` };
  const walk = (node: unknown, path: PropertyKey[], depth: number): { path: PropertyKey[]; message: string } | undefined => {
    if (depth > MAX_JSON_DEPTH) return { path, message: `is nested deeper than ${MAX_JSON_DEPTH} levels` };
    if (typeof node === 'string') {
      if (node.includes('\u0000')) return { path, message: 'contains a NUL character' };
      if (loneSurrogate.test(node)) return { path, message: 'contains an unpaired UTF-16 surrogate (not valid Unicode)' };
      return undefined;
    }
    if (typeof node === 'number') return Number.isFinite(node) ? undefined : { path, message: 'is not a finite number' };
    if (node === null || typeof node === 'boolean') return undefined;
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const problem = walk(node[i], [...path, i], depth + 1);
        if (problem) return problem;
      }
      return undefined;
    }
    if (typeof node === 'object') {
      for (const [key, child] of Object.entries(node as Record<string, unknown>)) {
        if (key.includes('\u0000') || loneSurrogate.test(key)) return { path: [...path, key], message: 'has a key that is not valid Unicode text' };
        const problem = walk(child, [...path, key], depth + 1);
        if (problem) return problem;
      }
      return undefined;
    }
    return { path, message: `is not a JSON value (${typeof node})` };
  };
  return walk(value, [], 0);
}

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A JSON value kept as it is (never copied key by key, so a `__proto__` key stays data),
 * checked for what jsonb cannot hold.
 */
export function jsonValue(maxChars: number) {
  return z.custom<JsonValue>().superRefine((value, ctx) => {
    // The metadata columns are NOT NULL; an empty object is the "nothing" value.
    if (value === null) {
      ctx.addIssue({ code: 'custom', message: 'must not be null (use {} for no metadata)' });
      return;
    }
    const problem = jsonValueProblem(value, maxChars);
    if (problem) ctx.addIssue({ code: 'custom', message: problem.message, path: problem.path });
  });
}

export function jsonObject(maxChars: number) {
  return z.custom<JsonObject>((value) => isPlainObject(value), 'must be a JSON object').superRefine((value, ctx) => {
    const problem = jsonValueProblem(value, maxChars);
    if (problem) ctx.addIssue({ code: 'custom', message: problem.message, path: problem.path });
  });
}

/**
 * TypeScript's rendering of the database's lw_name_key(): case, inner spacing and surrounding
 * punctuation do not make a different person. The unique index stays the final judge.
 */
export function normaliseNameKey(name: string): string {
  return name
    .replace(/^[\s\p{P}\p{S}]+|[\s\p{P}\p{S}]+$/gu, '')
    .replace(/\s+/gu, ' ')
    .toLowerCase();
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return uuidPattern.test(value);
}
