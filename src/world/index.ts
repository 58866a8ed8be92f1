export { headPathCte, loadPath, onPathSql, pathParam, loadRecentScenes, loadPathSceneIds, pathInTree, type LoadedPath, type PathScene } from './scene-path.js';
export {
  readCharactersAt,
  readCharactersWithPlayerStandingAt,
  type PlayerStanding,
  readRelationshipsAt,
  lockHeadForWorldWrite,
  branchWorldState,
  worldBranchParts,
  meetCharacters,
  changeCharacterStates,
  adjustRelationshipAt,
  adjustRelationshipsAt,
  stateTextFields,
  type CharacterAtScene,
  type RelationshipAtScene,
  type CharacterStateChange,
  type RelationshipChangeAtScene,
  type StateTextField,
  type WorldEventSource,
} from './world-state-repo.js';
export { foldWorldEvents, loadPathEvents, relationshipKey, type WorldEvent, type FoldedWorld, type FoldedCharacter, type FoldedRelationship } from './fold-world-events.js';
export { resolveSceneInStory } from './resolve-scene.js';
export { findCharactersOnlyHeardOf } from './characters-only-heard-of.js';
export {
  sanitizeFacts,
  insertSceneFacts,
  sceneFactParts,
  loadFactsAt,
  foldFacts,
  describeFacts,
  factKey,
  storyFactTypes,
  type StoryFact,
  type StoryFactChange,
  type StoryFactType,
} from './story-facts.js';
