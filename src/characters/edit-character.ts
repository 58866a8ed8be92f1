import type { Database } from '../db/index.js';
import { isUniqueViolation, withTransaction } from '../db/index.js';
import { AppError } from '../errors.js';
import { changeCharacterStates, lockHeadForWorldWrite, meetCharacters, readCharactersAt, stateTextFields, type CharacterAtScene } from '../world/index.js';
import { recordIdempotentAnswer, type IdempotencyClaim } from '../idempotency/index.js';
import { getCharacter, validatePatch, type CharacterPatch } from './character-repo.js';

/**
 * An edit happens at the story's head and belongs to its branch: the new name is the
 * character's everywhere (it is who they are), every other field is an event at the head that
 * the next turn from there carries. Optimistic: applies only if the character is still at
 * `expectedVersion` (the client's If-Match); turns bump the version of everyone they change,
 * so an edit based on a state a turn has since replaced is refused, never silently lost.
 * Lock order: story (FOR SHARE) → character → its state at the head.
 */
export async function updateCharacter(
  db: Database,
  input: { characterId: string; expectedVersion: number; patch: CharacterPatch },
  idempotency?: IdempotencyClaim,
): Promise<CharacterAtScene> {
  const patch = validatePatch(input.patch);
  const { storyId, name: nameBefore } = await getCharacter(db, input.characterId);
  return withTransaction(db, {}, async (tx) => {
    const { headSceneId } = await lockHeadForWorldWrite(tx, storyId);
    let updated: number;
    try {
      ({ rowCount: updated } = await tx.query(
        `UPDATE characters SET name = COALESCE($3, name), version = version + 1, updated_at = now()
          WHERE story_id = $1 AND id = $2 AND version = $4`,
        [storyId, input.characterId, patch.name ?? null, input.expectedVersion],
      ));
    } catch (error) {
      if (isUniqueViolation(error, 'characters_story_name_key_unique')) {
        throw new AppError('validation', 'Another character in this story already has that name.', { cause: error });
      }
      throw error;
    }
    if (updated !== 1) {
      const current = await getCharacter(tx, input.characterId);
      throw new AppError(
        'version_conflict',
        `The character was changed meanwhile (now version ${current.version}, you sent ${input.expectedVersion}); reload it and try again.`,
        { details: { currentVersion: current.version } },
      );
    }
    const set: Partial<Record<(typeof stateTextFields)[number], string>> = {};
    for (const field of stateTextFields) if (patch[field] !== undefined) set[field] = patch[field]!;
    if (Object.keys(set).length > 0) {
      if (headSceneId === null) {
        // No scene yet: nothing has happened, so the edit is who the character is from the start.
        await tx.query(
          `UPDATE characters SET description = COALESCE($3, description), personality = COALESCE($4, personality),
             goals = COALESCE($5, goals), background = COALESCE($6, background), mood = COALESCE($7, mood)
           WHERE story_id = $1 AND id = $2`,
          [storyId, input.characterId, set.description ?? null, set.personality ?? null, set.goals ?? null, set.background ?? null, set.mood ?? null],
        );
      } else {
        await meetCharacters(tx, { storyId, sceneId: headSceneId, source: 'edit', characterIds: [input.characterId] });
        await changeCharacterStates(tx, { storyId, sceneId: headSceneId, source: 'edit', changes: [{ characterId: input.characterId, set }] });
      }
    }
    const [character] = await readCharactersAt(tx, storyId, headSceneId, { characterIds: [input.characterId] });
    // A rename alone does not meet anyone: someone the head's branch has not met is not there
    // to be edited (as GET answers), and the rename is rolled back with the transaction.
    if (!character) {
      throw new AppError('not_found', `${nameBefore} has not been met at the head of the story (only on another branch); edit them there.`);
    }
    await recordIdempotentAnswer(tx, idempotency, character);
    return character;
  });
}
