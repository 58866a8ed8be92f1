/**
 * How far the conservative token estimate (used for models whose tokenizer we do not have)
 * is from real tokenizers on story text: 100 scenes from the offline storyteller, each
 * counted by the estimate and by the Llama 3, o200k and cl100k tokenizers. The estimate must
 * not undercount (the server would cut the prompt); the overcount is room left unused.
 * Writes bench/results/token-estimate.json.
 *
 *   npx tsx bench/token-estimate.ts
 */
import { createOfflineProvider } from '../src/llm/providers/offline.js';
import { estimateCharsPerToken, estimateTokens, loadTokenCounter } from '../src/llm/token-count.js';
import { writeResult } from './lib.js';

const sceneCount = 100;
const provider = createOfflineProvider({ seed: 11 });
const settings = ['A storm-bound harbour town', 'A desert caravan at night', 'A city of bridges and canals', 'A mountain monastery in winter'];

const scenes: string[] = [];
for (let i = 0; i < sceneCount; i++) {
  const completion = await provider.complete({
    messages: [],
    task: {
      kind: 'scene',
      storyTitle: `Bench ${i}`,
      setting: settings[i % settings.length]!,
      sceneNumber: 1 + (i % 7),
      recentScenes: scenes.slice(-2),
      ...(i % 3 ? { chosenAction: 'Follow the stranger' } : {}),
      characters: [],
      seed: i,
      choiceCount: 3,
    },
  });
  scenes.push((JSON.parse(completion.text) as { scene: string }).scene);
}

const tokenizers = { llama3: await loadTokenCounter('llama3.2'), o200k_base: await loadTokenCounter('gpt-4o'), cl100k_base: await loadTokenCounter('gpt-4') };
const comparisons: Record<string, unknown> = {};
for (const [name, counter] of Object.entries(tokenizers)) {
  const errors = scenes.map((scene) => (estimateTokens(scene) - counter.count(scene)) / counter.count(scene));
  errors.sort((a, b) => a - b);
  const totalReal = scenes.reduce((sum, scene) => sum + counter.count(scene), 0);
  const totalEstimate = scenes.reduce((sum, scene) => sum + estimateTokens(scene), 0);
  comparisons[name] = {
    meanErrorPercent: round((errors.reduce((sum, e) => sum + e, 0) / errors.length) * 100),
    minErrorPercent: round(errors[0]! * 100),
    maxErrorPercent: round(errors.at(-1)! * 100),
    undercounts: errors.filter((e) => e < 0).length,
    totalRealTokens: totalReal,
    totalEstimatedTokens: totalEstimate,
    realCharsPerToken: round(scenes.reduce((sum, scene) => sum + scene.length, 0) / totalReal),
  };
}

const result = {
  scenes: sceneCount,
  averageSceneChars: Math.round(scenes.reduce((sum, scene) => sum + scene.length, 0) / sceneCount),
  estimateCharsPerToken,
  comparisons,
};
writeResult('token-estimate', result);
process.stdout.write(`${JSON.stringify(result.comparisons, null, 2)}\n`);

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
