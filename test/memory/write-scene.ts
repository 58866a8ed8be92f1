import { runStatementParts, withTransaction, type Database } from '../../src/db/index.js';
import { prepareSceneMemories, sceneMemoryParts, writeSceneMemories } from '../../src/characters/write-scene-characters.js';
import type { Embedder } from '../../src/memory/embedder.js';
import { setSceneEmbedding } from '../../src/memory/memory-repo.js';
import { branchWorldState } from '../../src/world/index.js';
import type { SceneCharacter } from '../../src/story/scene-output.js';
import { insertScene } from '../helpers/fixtures.js';

/**
 * What the engine's turn does with memories, without a model: embed outside any transaction,
 * then insert the scene and write its memories in one transaction.
 */
export async function writeScene(
  db: Database,
  embedder: Embedder,
  input: {
    storyId: string;
    parentId: string | null;
    sceneNumber: number;
    content: string;
    characters?: SceneCharacter[] | unknown[];
    chosenAction?: string;
    instruction?: string;
  },
): Promise<{ sceneId: string; charactersCreated: number }> {
  const prepared = await prepareSceneMemories(embedder, {
    storyId: input.storyId,
    sceneContent: input.content,
    sceneNumber: input.sceneNumber,
    output: { scene: input.content, choices: ['Go on'], characters: (input.characters ?? []) as SceneCharacter[] },
    ...(input.chosenAction ? { chosenAction: input.chosenAction } : {}),
    ...(input.instruction ? { instruction: input.instruction } : {}),
  });
  return withTransaction(db, {}, async (tx) => {
    const sceneId = await insertScene(tx, input.storyId, input.parentId, input.content);
    // The engine inserts the scene with its embedding; the fixture's insert has none.
    await setSceneEmbedding(tx, input.storyId, sceneId, prepared.sceneEmbedding);
    await tx.query('UPDATE stories SET head_scene_id = $2 WHERE id = $1', [input.storyId, sceneId]);
    // The engine sends these with the scene's insert.
    await runStatementParts(tx, sceneMemoryParts({ storyId: input.storyId, sceneId, sceneNumber: input.sceneNumber, prepared }));
    await branchWorldState(tx, input.storyId, input.parentId, sceneId);
    const { charactersCreated } = await writeSceneMemories(tx, { storyId: input.storyId, sceneId, parentSceneId: input.parentId, sceneNumber: input.sceneNumber, prepared });
    return { sceneId, charactersCreated };
  });
}
