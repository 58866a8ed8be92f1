import type { StoryTask } from '../../provider.js';

type SummaryTask = Extract<StoryTask, { kind: 'summary' }>;

export const maxSummaryLength = 1500;
const maxSentenceLength = 220;

// Capitalised words that start sentences or dialogue without being names.
const notNames = new Set([
  'You', 'Your', 'The', 'A', 'An', 'It', 'He', 'She', 'They', 'We', 'I', 'In', 'On', 'At', 'But', 'And', 'Then', 'This',
  'That', 'There', 'Here', 'What', 'Why', 'Who', 'When', 'Where', 'How', 'If', 'Nobody', 'Someone', 'Everyone', 'Well',
  'Careful', 'Keep', 'Before', 'After', 'Without', 'Nearby', 'Above', 'Out', 'Far', 'Somewhere', 'More', 'Whatever',
  'Patience', 'Hidden', 'Last', 'Asking', 'Yes', 'No', 'Maybe', 'Over', 'For', 'Every', 'Something', 'Let', 'Make', 'Go',
]);

function firstSentence(scene: string): string {
  const flat = scene.replace(/\s+/g, ' ').trim();
  const sentence = /^.*?[.!?](?=\s|$)/.exec(flat)?.[0] ?? flat;
  return sentence.length > maxSentenceLength ? `${sentence.slice(0, maxSentenceLength - 1).trimEnd()}…` : sentence;
}

function namesIn(text: string): string[] {
  const names = new Set<string>();
  for (const match of text.matchAll(/(?<![.!?]\s|^|["“])\b(\p{Lu}\p{Ll}+(?:\s\p{Lu}\p{Ll}+)?)/gu)) {
    const name = match[1]!;
    if (!notNames.has(name.split(' ')[0]!)) names.add(name);
  }
  return [...names];
}

/**
 * A bounded summary: the previous summary, then the first sentence of each new scene, and
 * the people named along the way. Oldest facts are dropped first when it grows too long.
 */
export function writeSummary(task: SummaryTask): string {
  const events = task.scenes.map(firstSentence).filter(Boolean);
  const people = namesIn(task.scenes.join(' '));
  const parts = [task.previousSummary?.trim(), ...events].filter((part): part is string => Boolean(part));
  const peopleLine = people.length > 0 ? ` People involved: ${people.slice(0, 12).join(', ')}.` : '';
  let summary = parts.join(' ');
  const budget = maxSummaryLength - peopleLine.length;
  if (summary.length > budget) summary = `…${summary.slice(summary.length - budget + 1).replace(/^\S*\s/, '')}`;
  return `${summary}${peopleLine}`.trim();
}
