import type { z } from 'zod';
import { AppError } from '../errors.js';

/**
 * Validates request input with a zod schema; the 400 names the first bad field
 * (`details.field`) so that a client can point at it.
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, where: 'body' | 'query' | 'params' = 'body'): z.output<S> {
  const parsed = schema.safeParse(value ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = issue.path.map(String).join('.');
  let message: string;
  if (field === '') message = `The request ${where} must be a JSON object.`;
  else message = issue.message.startsWith(field) ? issue.message : `${field}: ${issue.message}`;
  throw new AppError('validation', message, { details: { field: field === '' ? where : field } });
}
