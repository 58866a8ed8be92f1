export { cleanCharacterName, characterNameKey, maxCharacterNameLength } from './character-name.js';
export {
  getOrCreateCharacter,
  listCharacters,
  getCharacter,
  findCharacter,
  findCharacterByName,
  type Character,
  type CharacterPatch,
  type EmotionalState,
  type GetOrCreateResult,
} from './character-repo.js';
export { updateCharacter } from './edit-character.js';
export { adjustRelationship, listRelationships, playerRelationships, type Relationship, type RelationshipAdjustment } from './relationship-repo.js';
export { prepareSceneMemories, writeSceneMemories, emotionSmoothing, type WriteSceneMemoriesInput } from './write-scene-characters.js';
export { talkToCharacter, talkFamiliarityDelta, type TalkDeps, type TalkInput } from './talk-to-character.js';
export { getCharacterDetail, type CharacterDetail } from './get-character-detail.js';
export { listCharactersAtScene, listStoryCharacters, sceneThoughts, type CharacterSummary } from './character-views.js';
