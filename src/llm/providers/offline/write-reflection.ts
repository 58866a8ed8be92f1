import type { StoryTask } from '../../provider.js';

type ReflectionTask = Extract<StoryTask, { kind: 'reflection' }>;

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1).trimEnd()}…` : text);

/**
 * A deterministic reflection: what weighed most among the character's memories, with the
 * numbers of the memories it rests on, in the JSON the engine asks real models for.
 */
export function writeReflection(task: ReflectionTask): string {
  const ranked = task.memories
    .map((memory, index) => ({ ...memory, number: index + 1 }))
    .sort((a, b) => b.importance - a.importance || a.number - b.number);
  const [first, second] = ranked;
  const reflections = [];
  if (first) {
    const evidence = [first.number, ...(second ? [second.number] : [])];
    reflections.push({ text: `${task.characterName} keeps coming back to this: ${clip(first.content, 200)}`, evidence });
  }
  if (second) reflections.push({ text: `${task.characterName} has learnt to watch what the player does, having seen that ${clip(second.content, 160)}`, evidence: [second.number] });
  return JSON.stringify({ reflections });
}
