import type { CompletionRequest } from '../llm/provider.js';

/** Who the card macros stand for in one prompt or opening. */
export interface MacroNames {
  /** {{char}} and <BOT>: the card's character (or the storyteller's lead character). */
  char: string;
  /** {{user}} and <USER>: the player. */
  user: string;
}

/** The player's name when none is set: prompts stay in the second person. */
export const defaultPlayerName = 'you';

// Case-insensitive, as SillyTavern reads them ({{Char}}, {{USER}} occur in real cards).
const charMacro = /\{\{char\}\}|<BOT>/gi;
const userMacro = /\{\{user\}\}|<USER>/gi;

/**
 * Replaces {{char}}, {{user}} and the legacy <BOT>/<USER> in text built for a prompt or an
 * opening scene. Stored text keeps its macros, so a renamed player reads right everywhere.
 */
export function replaceMacros(text: string, names: MacroNames): string {
  return text.replace(charMacro, () => names.char).replace(userMacro, () => names.user);
}

function replaceDeep<T>(value: T, names: MacroNames): T {
  if (typeof value === 'string') return replaceMacros(value, names) as T;
  if (Array.isArray(value)) return value.map((item) => replaceDeep(item, names)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, replaceDeep(item, names)])) as T;
  }
  return value;
}

/** The request with macros replaced in every message and in the offline storyteller's task. */
export function replaceMacrosInRequest(request: CompletionRequest, names: MacroNames): CompletionRequest {
  return {
    ...request,
    messages: request.messages.map((message) => ({ ...message, content: replaceMacros(message.content, names) })),
    ...(request.task ? { task: replaceDeep(request.task, names) } : {}),
  };
}
