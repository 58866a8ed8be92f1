import { createHash } from 'node:crypto';
import { statementPart, type Queryable, type StatementPart } from '../db/index.js';
import { AppError } from '../errors.js';
import type { ChatMessage } from '../llm/provider.js';
import type { ScenePromptRecord } from './scene-prompt.js';
import { isUuid } from './story-repo.js';

/**
 * Scene prompts, stored compactly: a story's system message is the same for every scene, so
 * it is kept once in prompt_texts and each scene's messages point at it by hash.
 */

export type StoredMessage = { role: ChatMessage['role']; content: string } | { role: ChatMessage['role']; textHash: string };

/** Messages longer than this are shared by hash when they are system messages. */
const sharedTextMinLength = 200;

/**
 * A scene's prompt, written with the scene (parts of its insert): the shared texts, kept once
 * per story, and the scene's messages naming them.
 */
export function scenePromptParts(storyId: string, sceneId: string, record: ScenePromptRecord): StatementPart[] {
  const stored: StoredMessage[] = [];
  const shared = new Map<string, string>();
  for (const message of record.messages) {
    if (message.role !== 'system' || message.content.length < sharedTextMinLength) {
      stored.push({ role: message.role, content: message.content });
      continue;
    }
    const textHash = createHash('sha256').update(message.content).digest('hex');
    shared.set(textHash, message.content);
    stored.push({ role: message.role, textHash });
  }
  const prompt = statementPart(
    `INSERT INTO scene_prompts (story_id, scene_id, provider, model, context_window, context_source, num_ctx, max_tokens,
                                structured_output, prompt_tokens, tokenizer, sections, messages)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
    [
      storyId,
      sceneId,
      record.provider,
      record.model,
      record.contextWindow,
      record.contextSource,
      record.numCtx,
      record.maxTokens,
      record.structuredOutput,
      record.promptTokens,
      record.tokenizer,
      JSON.stringify(record.sections),
      JSON.stringify(stored),
    ],
  );
  if (shared.size === 0) return [prompt];
  const texts = statementPart(
    `INSERT INTO prompt_texts (story_id, hash, content)
     SELECT $1, t.hash, t.content FROM unnest($2::text[], $3::text[]) AS t(hash, content)
     ON CONFLICT DO NOTHING`,
    [storyId, [...shared.keys()], [...shared.values()]],
  );
  return [texts, prompt];
}

interface ScenePromptRow {
  provider: string;
  model: string;
  context_window: number | null;
  context_source: string | null;
  num_ctx: number | null;
  max_tokens: number | null;
  structured_output: string | null;
  prompt_tokens: number | null;
  tokenizer: string | null;
  sections: ScenePromptRecord['sections'];
  messages: StoredMessage[];
}

/** The prompt of one scene with its shared texts filled back in; not_found when none was kept (imported scenes, older ones). */
export async function getScenePrompt(db: Queryable, storyId: string, sceneId: string): Promise<ScenePromptRecord> {
  if (!isUuid(storyId) || !isUuid(sceneId)) throw new AppError('not_found', `No scene ${sceneId} in story ${storyId}.`);
  const { rows } = await db.query<ScenePromptRow>(
    `SELECT provider, model, context_window, context_source, num_ctx, max_tokens, structured_output, prompt_tokens, tokenizer, sections, messages
       FROM scene_prompts WHERE story_id = $1 AND scene_id = $2`,
    [storyId, sceneId],
  );
  const row = rows[0];
  if (!row) throw new AppError('not_found', `No prompt is kept for scene ${sceneId} (scenes imported or written before prompts were kept have none).`);
  const hashes = row.messages.flatMap((message) => ('textHash' in message ? [message.textHash] : []));
  const texts = new Map<string, string>();
  if (hashes.length > 0) {
    const shared = await db.query<{ hash: string; content: string }>(`SELECT hash, content FROM prompt_texts WHERE story_id = $1 AND hash = ANY($2::text[])`, [
      storyId,
      hashes,
    ]);
    for (const text of shared.rows) texts.set(text.hash, text.content);
  }
  return {
    ...recordOf(row),
    messages: row.messages.map((message) => ({ role: message.role, content: 'textHash' in message ? (texts.get(message.textHash) ?? '') : message.content })),
  };
}

function recordOf(row: ScenePromptRow): Omit<ScenePromptRecord, 'messages'> {
  return {
    provider: row.provider,
    model: row.model,
    contextWindow: row.context_window,
    contextSource: row.context_source,
    numCtx: row.num_ctx,
    maxTokens: row.max_tokens,
    structuredOutput: row.structured_output,
    promptTokens: row.prompt_tokens ?? 0,
    tokenizer: row.tokenizer ?? 'estimate',
    sections: row.sections,
  };
}

/** A story's kept prompts as stored: shared texts once (by hash), each scene's messages naming them. */
export interface StoredStoryPrompts {
  texts: { hash: string; content: string }[];
  prompts: (Omit<ScenePromptRecord, 'messages'> & { sceneId: string; createdAt: string; messages: StoredMessage[] })[];
}

/** Every kept prompt of a story, compact as stored, for exports that ask for them. */
export async function readStoryPrompts(db: Queryable, storyId: string): Promise<StoredStoryPrompts> {
  const { rows } = await db.query<ScenePromptRow & { scene_id: string; created_at: Date }>(
    `SELECT scene_id, provider, model, context_window, context_source, num_ctx, max_tokens, structured_output, prompt_tokens, tokenizer,
            sections, messages, created_at
       FROM scene_prompts WHERE story_id = $1 ORDER BY created_at, scene_id`,
    [storyId],
  );
  const texts = await db.query<{ hash: string; content: string }>(`SELECT hash, content FROM prompt_texts WHERE story_id = $1 ORDER BY hash`, [storyId]);
  return {
    texts: texts.rows,
    prompts: rows.map((row) => ({ ...recordOf(row), sceneId: row.scene_id, createdAt: new Date(row.created_at).toISOString(), messages: row.messages })),
  };
}

/** Writes prompts read back from an export: the shared texts are hashed afresh from their content. */
export async function insertStoredStoryPrompts(tx: Queryable, storyId: string, stored: StoredStoryPrompts): Promise<void> {
  const hashOf = new Map<string, string>();
  for (const text of stored.texts) {
    const hash = createHash('sha256').update(text.content).digest('hex');
    hashOf.set(text.hash, hash);
    await tx.query(`INSERT INTO prompt_texts (story_id, hash, content) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [storyId, hash, text.content]);
  }
  for (const prompt of stored.prompts) {
    const messages = prompt.messages.map((message) => ('textHash' in message ? { role: message.role, textHash: hashOf.get(message.textHash)! } : message));
    await tx.query(
      `INSERT INTO scene_prompts (story_id, scene_id, provider, model, context_window, context_source, num_ctx, max_tokens,
                                  structured_output, prompt_tokens, tokenizer, sections, messages, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
      [
        storyId,
        prompt.sceneId,
        prompt.provider,
        prompt.model,
        prompt.contextWindow,
        prompt.contextSource,
        prompt.numCtx,
        prompt.maxTokens,
        prompt.structuredOutput,
        prompt.promptTokens,
        prompt.tokenizer,
        JSON.stringify(prompt.sections),
        JSON.stringify(messages),
        prompt.createdAt,
      ],
    );
  }
}
