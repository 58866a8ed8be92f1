import { randomUUID } from 'node:crypto';

/**
 * A `livingworld/1` story file of about `bytes` bytes: a chain of long scenes (90,000
 * characters each, under the archive's 100,000 limit), for imports that are still being read
 * and written when something happens to the server (a SIGTERM).
 */
export function largeStoryArchive(title: string, bytes: number): string {
  const at = new Date().toISOString();
  const sentence = 'The fog rolls over the harbour wall and back again. ';
  const sceneChars = 90_000;
  const count = Math.max(1, Math.ceil(bytes / sceneChars));
  const scenes = Array.from({ length: count }, (_, i) => ({
    id: `s${i + 1}`,
    parent_id: i === 0 ? null : `s${i}`,
    scene_number: i + 1,
    choice_number: i === 0 ? null : 1,
    instruction: null,
    content: `Scene ${i + 1} of ${title}. ` + sentence.repeat(Math.floor(sceneChars / sentence.length) - 1),
    raw_output: null,
    provider: null,
    model: null,
    metadata: {},
    created_at: at,
    choices: [
      { number: 1, content: 'Follow the lantern', selected: i < count - 1 },
      { number: 2, content: 'Ask about the boats', selected: false },
      { number: 3, content: 'Climb to the lighthouse', selected: false },
    ],
  }));
  const story = { id: randomUUID(), title, setting: 'A harbour in fog.', instructions: null, system_prompt: null, status: 'active', seed: 1, settings: {}, head_scene_id: `s${count}`, created_at: at, updated_at: at };
  const empty = { user_instructions: [], characters: [], scene_characters: [], memories: [], character_memories: [], character_relationships: [], lore_entries: [] };
  return JSON.stringify({ format_version: 'livingworld/1', exported_at: at, story, scenes, ...empty });
}
