import { RE2JS } from 're2js';

/**
 * Matching one lore keyword against scanned text. A keyword written `/pattern/flags` is a
 * regular expression, run by RE2 (linear time in the text, no backtracking), so that no
 * pattern from an imported book can stall a turn. Patterns RE2 cannot run (backreferences,
 * lookaround) never match; `describeKeywordProblem` names them so imports can say so.
 */

export interface KeywordMatchOptions {
  caseSensitive: boolean;
  matchWholeWords: boolean;
}

interface CompiledPattern {
  matcher: RE2JS | null;
  problem?: string;
}

const regexKeyword = /^\/([\s\S]+)\/([a-z]*)$/;
const compiledCache = new Map<string, CompiledPattern>();
const maxCachedPatterns = 2000;

export function isRegexKeyword(keyword: string): boolean {
  return regexKeyword.test(keyword);
}

function compilePattern(keyword: string, caseSensitive: boolean): CompiledPattern {
  const cacheKey = `${caseSensitive ? 'c' : 'i'}${keyword}`;
  const cached = compiledCache.get(cacheKey);
  if (cached) return cached;
  const [, source, flags] = regexKeyword.exec(keyword)!;
  let compiled: CompiledPattern;
  try {
    // The entry's case sensitivity applies unless the pattern asks for `i` itself.
    let re2Flags = flags!.includes('i') || !caseSensitive ? RE2JS.CASE_INSENSITIVE : 0;
    if (flags!.includes('s')) re2Flags |= RE2JS.DOTALL;
    if (flags!.includes('m')) re2Flags |= RE2JS.MULTILINE;
    compiled = { matcher: RE2JS.compile(source!, re2Flags) };
  } catch (error) {
    compiled = { matcher: null, problem: (error as Error).message };
  }
  if (compiledCache.size >= maxCachedPatterns) compiledCache.clear();
  compiledCache.set(cacheKey, compiled);
  return compiled;
}

/** Why a keyword can never match, or undefined when it can. */
export function describeKeywordProblem(keyword: string): string | undefined {
  if (keyword.trim() === '') return 'the keyword is empty';
  if (!isRegexKeyword(keyword)) return undefined;
  const { problem } = compilePattern(keyword, false);
  return problem ? `the pattern ${keyword} cannot be run safely (${problem}); it never matches` : undefined;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * True when the keyword appears in the text. Plain keywords match as literal text; with
 * whole words, only where no letter or digit touches either end ("sword" in "Sword!" but not
 * in "swordfish"). An empty keyword never matches.
 */
export function keywordMatches(keyword: string, text: string, options: KeywordMatchOptions): boolean {
  const trimmed = keyword.trim();
  if (trimmed === '') return false;
  if (isRegexKeyword(trimmed)) {
    const { matcher } = compilePattern(trimmed, options.caseSensitive);
    return matcher !== null && matcher.matcher(text).find();
  }
  if (!options.matchWholeWords) {
    return options.caseSensitive ? text.includes(trimmed) : text.toLocaleLowerCase().includes(trimmed.toLocaleLowerCase());
  }
  // A literal between single-character lookarounds: linear, whatever the keyword holds.
  const pattern = new RegExp(`(?<![\\p{L}\\p{N}_])${escapeRegex(trimmed)}(?![\\p{L}\\p{N}_])`, options.caseSensitive ? 'u' : 'iu');
  return pattern.test(text);
}
