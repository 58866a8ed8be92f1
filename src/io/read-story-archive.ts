import type { Queryable } from '../db/index.js';
import { AppError } from '../errors.js';
import { STORY_ARCHIVE_FORMAT, type StoryArchive } from './story-archive.js';
import { isUuid } from './validation.js';
import { readStoryPrompts } from '../story/scene-prompt-repo.js';
import { optionColumns } from '../memory/lore-repo.js';

/** UTC with microseconds: exact, and the same text on both backends. */
const iso = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/**
 * The whole story as one SQL statement, so that it is read from one snapshot even at READ
 * COMMITTED on a pool: a turn committing meanwhile cannot leave a head scene or a memory that
 * points at a scene missing from the file. Rows are ordered by what survives an import
 * (numbers, timestamps, content), ids only breaking ties, so that a round trip keeps the order.
 */
const exportSql = `
SELECT json_build_object(
  'story', (SELECT json_build_object(
      'id', s.id, 'title', s.title, 'setting', s.setting, 'instructions', s.instructions,
      'system_prompt', s.system_prompt, 'status', s.status, 'seed', s.seed::text, 'settings', s.settings, 'player_name', s.player_name,
      'head_scene_id', s.head_scene_id, 'created_at', ${iso('s.created_at')}, 'updated_at', ${iso('s.updated_at')})
    FROM stories s WHERE s.id = $1),
  'scenes', (SELECT coalesce(json_agg(json_build_object(
      'id', sc.id, 'parent_id', sc.parent_scene_id, 'scene_number', sc.scene_number,
      'choice_number', sc.choice_number, 'instruction', sc.instruction, 'content', sc.content,
      'raw_output', sc.raw_output, 'provider', sc.provider, 'model', sc.model, 'metadata', sc.metadata,
      'created_at', ${iso('sc.created_at')},
      'choices', (SELECT coalesce(json_agg(json_build_object('number', c.choice_number, 'content', c.content, 'selected', c.selected)
                    ORDER BY c.choice_number), '[]'::json)
                  FROM choices c WHERE c.story_id = sc.story_id AND c.scene_id = sc.id))
    ORDER BY sc.scene_number, sc.created_at, sc.choice_number NULLS FIRST, sc.content, sc.id), '[]'::json)
    FROM scenes sc WHERE sc.story_id = $1),
  'user_instructions', (SELECT coalesce(json_agg(json_build_object(
      'id', u.id, 'scene_id', u.scene_id, 'content', u.content, 'created_at', ${iso('u.created_at')})
    ORDER BY u.created_at, u.content, u.id), '[]'::json)
    FROM user_instructions u WHERE u.story_id = $1),
  'characters', (SELECT coalesce(json_agg(json_build_object(
      'id', ch.id, 'name', ch.name, 'description', COALESCE(hs.description, ch.description),
      'personality', COALESCE(hs.personality, ch.personality), 'goals', COALESCE(hs.goals, ch.goals),
      'background', COALESCE(hs.background, ch.background), 'mood', COALESCE(hs.mood, ch.mood),
      'emotion', json_build_object('valence', COALESCE(hs.emotion_valence, ch.emotion_valence),
        'arousal', COALESCE(hs.emotion_arousal, ch.emotion_arousal), 'dominance', COALESCE(hs.emotion_dominance, ch.emotion_dominance)),
      'metadata', ch.metadata, 'first_scene_id', ch.first_scene_id, 'version', ch.version::text,
      'created_at', ${iso('ch.created_at')}, 'updated_at', ${iso('ch.updated_at')})
    ORDER BY ch.created_at, ch.name_key, ch.id), '[]'::json)
    FROM characters ch
    -- The archive format carries one state per character: the world as it stands at the head.
    LEFT JOIN character_states hs ON hs.story_id = ch.story_id AND hs.character_id = ch.id
      AND hs.scene_id = (SELECT head_scene_id FROM stories WHERE id = $1)
    WHERE ch.story_id = $1),
  'scene_characters', (SELECT coalesce(json_agg(json_build_object(
      'scene_id', l.scene_id, 'character_id', l.character_id, 'role', l.role, 'importance', l.importance)
    ORDER BY sc.scene_number, sc.created_at, ch.created_at, ch.name_key, l.scene_id, l.character_id), '[]'::json)
    FROM scene_characters l
    JOIN scenes sc ON sc.story_id = l.story_id AND sc.id = l.scene_id
    JOIN characters ch ON ch.story_id = l.story_id AND ch.id = l.character_id
    WHERE l.story_id = $1),
  'memories', (SELECT coalesce(json_agg(json_build_object(
      'id', m.id, 'kind', m.kind, 'scene_id', m.scene_id, 'through_scene_number', m.through_scene_number,
      'content', m.content, 'importance', m.importance, 'created_at', ${iso('m.created_at')})
    ORDER BY m.created_at, m.kind, m.content, m.id), '[]'::json)
    FROM memories m WHERE m.story_id = $1),
  'character_memories', (SELECT coalesce(json_agg(json_build_object(
      'id', cm.id, 'character_id', cm.character_id, 'scene_id', cm.scene_id, 'kind', cm.kind,
      'content', cm.content, 'valence', cm.emotional_valence, 'importance', cm.importance,
      'last_accessed_at', ${iso('cm.last_accessed_at')}, 'created_at', ${iso('cm.created_at')},
      -- Only the cited memories still kept, in the order cited, so that every id is in the file.
      'evidence_memory_ids', ARRAY(SELECT u.id FROM unnest(cm.evidence_memory_ids) WITH ORDINALITY AS u(id, n)
                                    WHERE EXISTS (SELECT 1 FROM character_memories e WHERE e.story_id = cm.story_id AND e.id = u.id)
                                    ORDER BY u.n))
    ORDER BY cm.created_at, ch.name_key, cm.kind, cm.content, cm.id), '[]'::json)
    FROM character_memories cm JOIN characters ch ON ch.story_id = cm.story_id AND ch.id = cm.character_id
    WHERE cm.story_id = $1),
  'character_relationships', (SELECT coalesce(json_agg(json_build_object(
      'id', md5(r.story_id::text || r.character_id::text || COALESCE(r.target_character_id::text, 'player'))::uuid,
      'character_id', r.character_id, 'target_character_id', r.target_character_id,
      'sentiment', r.sentiment, 'trust', r.trust, 'familiarity', r.familiarity, 'type', r.type,
      'interaction_count', r.interaction_count, 'updated_at', ${iso('r.updated_at')})
    ORDER BY a.name_key, b.name_key NULLS FIRST), '[]'::json)
    FROM relationship_states r
    JOIN characters a ON a.story_id = r.story_id AND a.id = r.character_id
    LEFT JOIN characters b ON b.story_id = r.story_id AND b.id = r.target_character_id
    WHERE r.story_id = $1 AND r.scene_id = (SELECT head_scene_id FROM stories WHERE id = $1)),
  'lore_entries', (SELECT coalesce(json_agg(json_build_object(
      'id', e.id, 'title', e.title, 'keywords', to_json(e.keywords), 'content', e.content, 'enabled', e.enabled,
      'metadata', e.metadata, 'version', e.version::text,
      'options', json_build_object(${optionColumns.map(([, column]) => `'${column}', e.${column}`).join(', ')}),
      'created_at', ${iso('e.created_at')}, 'updated_at', ${iso('e.updated_at')})
    ORDER BY e.created_at, e.title, e.content, e.id), '[]'::json)
    FROM lore_entries e WHERE e.story_id = $1),
  'character_assets', (SELECT coalesce(json_agg(json_build_object(
      'id', a.id, 'character_id', a.character_id, 'kind', a.kind, 'name', a.name, 'uri', a.uri, 'ext', a.ext,
      'media_type', a.media_type, 'data', translate(encode(a.data, 'base64'), E'\n', ''), 'position', a.position,
      'created_at', ${iso('a.created_at')})
    ORDER BY ch.created_at, ch.name_key, a.position, a.created_at, a.kind, a.uri, a.id), '[]'::json)
    FROM character_assets a JOIN characters ch ON ch.story_id = a.story_id AND ch.id = a.character_id
    WHERE a.story_id = $1),
  'lore_activations', (SELECT coalesce(json_agg(json_build_object('scene_id', a.scene_id, 'lore_entry_id', a.lore_entry_id)
    ORDER BY sc.scene_number, sc.created_at, sc.choice_number NULLS FIRST, sc.content, e.created_at, e.title, e.content, a.scene_id, a.lore_entry_id), '[]'::json)
    FROM scene_lore_activations a
    JOIN scenes sc ON sc.story_id = a.story_id AND sc.id = a.scene_id
    JOIN lore_entries e ON e.story_id = a.story_id AND e.id = a.lore_entry_id
    WHERE a.story_id = $1),
  'story_facts', (SELECT coalesce(json_agg(json_build_object(
      'scene_id', f.scene_id, 'seq', f.seq, 'op', f.op, 'fact_type', f.fact_type, 'fact_key', f.fact_key,
      'content', f.content, 'created_at', ${iso('f.created_at')})
    ORDER BY sc.scene_number, sc.created_at, sc.choice_number NULLS FIRST, sc.content, f.scene_id, f.seq), '[]'::json)
    FROM story_facts f JOIN scenes sc ON sc.story_id = f.story_id AND sc.id = f.scene_id
    WHERE f.story_id = $1),
  'exported_at', ${iso('now()')}
)::text AS archive`;

interface RawArchive extends Omit<StoryArchive, 'format_version' | 'story' | 'characters' | 'lore_entries'> {
  story: (Omit<StoryArchive['story'], 'seed'> & { seed: string }) | null;
  characters: (Omit<StoryArchive['characters'][number], 'version'> & { version: string })[];
  lore_entries: (Omit<StoryArchive['lore_entries'][number], 'version'> & { version: string })[];
}

/** A JSON number when it is exact as one, else the digits as a string. */
function integerFromText(value: string): number | string {
  const asNumber = Number(value);
  return Number.isSafeInteger(asNumber) ? asNumber : value;
}

/** Reads a whole story into a `livingworld/1` archive (see story-archive.ts); `withPrompts` adds what each scene's model was sent. */
export async function exportStoryArchive(db: Queryable, storyId: string, options: { withPrompts?: boolean } = {}): Promise<StoryArchive> {
  if (!isUuid(storyId)) throw new AppError('not_found', `Story ${storyId} does not exist.`);
  const { rows } = await db.query<{ archive: string }>(exportSql, [storyId]);
  const raw = JSON.parse(rows[0]!.archive) as RawArchive;
  if (raw.story === null) throw new AppError('not_found', `Story ${storyId} does not exist.`);
  const archive: StoryArchive = {
    format_version: STORY_ARCHIVE_FORMAT,
    exported_at: raw.exported_at,
    story: { ...raw.story, seed: integerFromText(raw.story.seed) },
    scenes: raw.scenes,
    user_instructions: raw.user_instructions,
    characters: raw.characters.map((character) => ({ ...character, version: Number(character.version) })),
    scene_characters: raw.scene_characters,
    memories: raw.memories,
    character_memories: raw.character_memories,
    character_relationships: raw.character_relationships,
    lore_entries: raw.lore_entries.map((entry) => ({ ...entry, version: Number(entry.version) })),
    character_assets: raw.character_assets ?? [],
    lore_activations: raw.lore_activations ?? [],
    story_facts: raw.story_facts ?? [],
  };
  return options.withPrompts ? { ...archive, ...(await archivePrompts(db, storyId, archive)) } : archive;
}

/**
 * The kept prompts of the archive's scenes. Read after the archive: a prompt of a scene
 * committed in between is left out, so that every prompt names a scene in the file.
 */
async function archivePrompts(db: Queryable, storyId: string, archive: StoryArchive): Promise<Pick<StoryArchive, 'prompt_texts' | 'scene_prompts'>> {
  const stored = await readStoryPrompts(db, storyId);
  const sceneIds = new Set(archive.scenes.map((scene) => scene.id));
  const prompts = stored.prompts.filter((prompt) => sceneIds.has(prompt.sceneId));
  const used = new Set(prompts.flatMap((prompt) => prompt.messages.flatMap((message) => ('textHash' in message ? [message.textHash] : []))));
  return {
    prompt_texts: stored.texts.filter((text) => used.has(text.hash)).map((text) => ({ id: text.hash, content: text.content })),
    scene_prompts: prompts.map((prompt) => ({
      scene_id: prompt.sceneId,
      provider: prompt.provider,
      model: prompt.model,
      context_window: prompt.contextWindow,
      context_source: prompt.contextSource,
      num_ctx: prompt.numCtx,
      max_tokens: prompt.maxTokens,
      structured_output: prompt.structuredOutput,
      prompt_tokens: prompt.promptTokens,
      tokenizer: prompt.tokenizer,
      sections: prompt.sections as Record<string, number>,
      created_at: prompt.createdAt,
      messages: prompt.messages.map((message) => ('textHash' in message ? { role: message.role, text_id: message.textHash } : { role: message.role, content: message.content })),
    })),
  };
}
