export type { Embedder } from './embedder.js';
export { vectorStoreFor, loadVectorStore, embeddingTables, hnswIndexName, type VectorStore, type VectorBackend, type NearestQuery } from './vector-store.js';
export {
  ensureEmbeddingSettings,
  readEmbeddingSettings,
  embeddingSettingsOf,
  reembedAll,
  type EmbeddingSettings,
  type ReembedOptions,
  type ReembedProgress,
} from './embedding-settings.js';
export {
  insertCharacterMemories,
  insertStoryMemory,
  insertUserInstruction,
  setSceneEmbedding,
  listCharacterMemories,
  type CharacterMemory,
  type CharacterMemoryKind,
  type NewCharacterMemory,
} from './memory-repo.js';
export {
  retrieveMemories,
  rankMemories,
  findSimilarScenes,
  relevantInstructionsSearch,
  relevantStoryMemoriesSearch,
  similarScenesSearch,
  searchTogether,
  defaultRetrievalWeights,
  defaultRecencyDecayPerHour,
  defaultCandidateCounts,
  type RetrievalWeights,
  type RetrievedMemory,
  type RetrieveMemoriesInput,
} from './retrieve-memories.js';
export {
  prepareSceneMemories,
  digestScene,
  rateImportance,
  type PreparedSceneMemories,
  type PrepareSceneMemoriesInput,
} from './prepare-scene-memories.js';
export {
  createLoreEntry,
  listLoreEntries,
  updateLoreEntry,
  deleteLoreEntry,
  getLoreEntry,
  insertLoreEntries,
  loreEmbeddingText,
  type LoreEntry,
} from './lore-repo.js';
export { selectLore, chooseLore, loreText, defaultLoreSimilarityThreshold, type SelectedLore, type PlacedLore } from './select-lore.js';
export { keywordMatches, describeKeywordProblem, isRegexKeyword } from './lore-keys.js';
export { defaultLoreOptions, loreOptionsInput, type LoreOptions, type LoreOptionsInput } from './lore-options.js';
export { planSummaryUpdate, storeSummary, loadLatestSummary, summariseScenesLocally, type SummaryPlan } from './summarise.js';
export { buildTurnContext, estimateTokens, fitToBudget, type TurnContext, type BuildTurnContextInput } from './build-turn-context.js';
export { loadRecentScenes } from '../world/scene-path.js';
