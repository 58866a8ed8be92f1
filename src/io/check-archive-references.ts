import type { StoryArchive } from './story-archive.js';
import { normaliseNameKey, type ImportIssue } from './validation.js';

const MAX_REPORTED = 50;

/**
 * Everything the shape alone cannot tell: unique ids, references that resolve inside the file,
 * a scene tree without cycles whose numbers rise by one, one character per normalised name.
 * These mirror the database's constraints so that a bad file is refused before any write.
 */
export function findArchiveReferenceIssues(archive: StoryArchive): ImportIssue[] {
  const issues: ImportIssue[] = [];
  const report = (path: string, message: string) => {
    if (issues.length < MAX_REPORTED) issues.push({ path, message });
  };

  const indexIds = (table: string, rows: readonly { id: string }[]) => {
    const byId = new Map<string, number>();
    rows.forEach((row, index) => {
      const previous = byId.get(row.id);
      if (previous !== undefined) report(`${table}[${index}].id`, `duplicates the id "${row.id}" of ${table}[${previous}]`);
      else byId.set(row.id, index);
    });
    return byId;
  };

  const scenes = indexIds('scenes', archive.scenes);
  const characters = indexIds('characters', archive.characters);
  indexIds('user_instructions', archive.user_instructions);
  indexIds('memories', archive.memories);
  const characterMemories = indexIds('character_memories', archive.character_memories);
  indexIds('character_relationships', archive.character_relationships);
  const loreEntries = indexIds('lore_entries', archive.lore_entries);
  const promptTexts = indexIds('prompt_texts', archive.prompt_texts ?? []);
  indexIds('character_assets', archive.character_assets ?? []);

  const requireScene = (path: string, id: string | null) => {
    if (id !== null && !scenes.has(id)) report(path, `refers to scene "${id}", which is not in the file`);
  };
  const requireCharacter = (path: string, id: string | null) => {
    if (id !== null && !characters.has(id)) report(path, `refers to character "${id}", which is not in the file`);
  };

  archive.scenes.forEach((scene, index) => {
    const numbers = new Set<number>();
    scene.choices.forEach((choice, choiceIndex) => {
      if (numbers.has(choice.number)) report(`scenes[${index}].choices[${choiceIndex}].number`, `repeats choice number ${choice.number}`);
      numbers.add(choice.number);
    });
    requireScene(`scenes[${index}].parent_id`, scene.parent_id);
  });
  checkSceneTree(archive, scenes, report);
  requireScene('story.head_scene_id', archive.story.head_scene_id);

  archive.user_instructions.forEach((row, index) => requireScene(`user_instructions[${index}].scene_id`, row.scene_id));

  const nameKeys = new Map<string, number>();
  archive.characters.forEach((character, index) => {
    const key = normaliseNameKey(character.name);
    if (key === '') report(`characters[${index}].name`, 'has no letters or digits (only spaces and punctuation)');
    const previous = nameKeys.get(key);
    if (key !== '' && previous !== undefined) {
      report(`characters[${index}].name`, `is the same person as characters[${previous}] ("${archive.characters[previous]?.name}"); names must differ by more than case, spacing and punctuation`);
    }
    nameKeys.set(key, index);
    requireScene(`characters[${index}].first_scene_id`, character.first_scene_id);
  });

  const links = new Set<string>();
  archive.scene_characters.forEach((link, index) => {
    requireScene(`scene_characters[${index}].scene_id`, link.scene_id);
    requireCharacter(`scene_characters[${index}].character_id`, link.character_id);
    const pair = JSON.stringify([link.scene_id, link.character_id]);
    if (links.has(pair)) report(`scene_characters[${index}]`, 'links the same scene and character twice');
    links.add(pair);
  });

  const summaries = new Map<string, number>();
  archive.memories.forEach((memory, index) => {
    requireScene(`memories[${index}].scene_id`, memory.scene_id);
    if (memory.kind !== 'summary' || memory.scene_id === null) return;
    const previous = summaries.get(memory.scene_id);
    if (previous !== undefined) report(`memories[${index}].scene_id`, `repeats the summary of scene "${memory.scene_id}" (memories[${previous}]); a scene has at most one`);
    else summaries.set(memory.scene_id, index);
  });
  archive.character_memories.forEach((memory, index) => {
    requireCharacter(`character_memories[${index}].character_id`, memory.character_id);
    requireScene(`character_memories[${index}].scene_id`, memory.scene_id);
    (memory.evidence_memory_ids ?? []).forEach((id, evidenceIndex) => {
      if (!characterMemories.has(id)) report(`character_memories[${index}].evidence_memory_ids[${evidenceIndex}]`, `refers to character memory "${id}", which is not in the file`);
    });
  });

  const factSlots = new Set<string>();
  (archive.story_facts ?? []).forEach((fact, index) => {
    requireScene(`story_facts[${index}].scene_id`, fact.scene_id);
    const slot = JSON.stringify([fact.scene_id, fact.seq]);
    if (factSlots.has(slot)) report(`story_facts[${index}].seq`, `repeats seq ${fact.seq} of scene "${fact.scene_id}"`);
    factSlots.add(slot);
  });

  const pairs = new Set<string>();
  archive.character_relationships.forEach((relationship, index) => {
    const path = `character_relationships[${index}]`;
    requireCharacter(`${path}.character_id`, relationship.character_id);
    requireCharacter(`${path}.target_character_id`, relationship.target_character_id);
    if (relationship.character_id === relationship.target_character_id) report(`${path}.target_character_id`, 'is the character itself');
    const pair = JSON.stringify([relationship.character_id, relationship.target_character_id]);
    if (pairs.has(pair)) report(path, 'repeats the relationship of the same pair of characters');
    pairs.add(pair);
  });
  (archive.character_assets ?? []).forEach((asset, index) => requireCharacter(`character_assets[${index}].character_id`, asset.character_id));
  const activations = new Set<string>();
  (archive.lore_activations ?? []).forEach((activation, index) => {
    const path = `lore_activations[${index}]`;
    requireScene(`${path}.scene_id`, activation.scene_id);
    if (!loreEntries.has(activation.lore_entry_id)) report(`${path}.lore_entry_id`, `refers to lore entry "${activation.lore_entry_id}", which is not in the file`);
    const pair = JSON.stringify([activation.scene_id, activation.lore_entry_id]);
    if (activations.has(pair)) report(path, 'repeats the same scene and lore entry');
    activations.add(pair);
  });

  const prompted = new Set<string>();
  (archive.scene_prompts ?? []).forEach((prompt, index) => {
    requireScene(`scene_prompts[${index}].scene_id`, prompt.scene_id);
    if (prompted.has(prompt.scene_id)) report(`scene_prompts[${index}].scene_id`, `repeats the prompt of scene "${prompt.scene_id}"`);
    prompted.add(prompt.scene_id);
    prompt.messages.forEach((message, messageIndex) => {
      if ('text_id' in message && !promptTexts.has(message.text_id)) {
        report(`scene_prompts[${index}].messages[${messageIndex}].text_id`, `refers to prompt text "${message.text_id}", which is not in the file`);
      }
    });
  });

  return issues;
}

function checkSceneTree(archive: StoryArchive, scenes: Map<string, number>, report: (path: string, message: string) => void): void {
  // 0 = unvisited, 1 = on the current walk, 2 = known to reach a root.
  const state = new Array<number>(archive.scenes.length).fill(0);
  archive.scenes.forEach((_, start) => {
    const walk: number[] = [];
    let index: number | undefined = start;
    while (index !== undefined && state[index] === 0) {
      state[index] = 1;
      walk.push(index);
      const parentId: string | null = archive.scenes[index]!.parent_id;
      index = parentId === null ? undefined : scenes.get(parentId);
    }
    if (index !== undefined && state[index] === 1) {
      const cycleStart = walk.indexOf(index);
      const cycle = walk.slice(cycleStart).map((i) => `"${archive.scenes[i]!.id}"`);
      report(`scenes[${index}].parent_id`, `forms a cycle in the scene tree (${[...cycle, cycle[0]].join(' → ')})`);
    }
    for (const visited of walk) state[visited] = 2;
  });

  archive.scenes.forEach((scene, index) => {
    if (scene.parent_id === null) {
      if (scene.scene_number !== 1) report(`scenes[${index}].scene_number`, `is ${scene.scene_number}, but a scene without a parent must be number 1`);
      return;
    }
    const parentIndex = scenes.get(scene.parent_id);
    const parent = parentIndex === undefined ? undefined : archive.scenes[parentIndex];
    if (!parent) return;
    if (scene.scene_number !== parent.scene_number + 1) {
      report(`scenes[${index}].scene_number`, `is ${scene.scene_number}, but its parent scenes[${parentIndex}] is number ${parent.scene_number} (must be parent + 1)`);
    }
    if (scene.choice_number !== null && !parent.choices.some((choice) => choice.number === scene.choice_number)) {
      report(`scenes[${index}].choice_number`, `is ${scene.choice_number}, but the parent scene has no choice with that number`);
    }
  });
}
