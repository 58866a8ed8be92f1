import type { StoryTask } from '../../provider.js';
import { chooseCast, type CastMember } from './scene-cast.js';
import { readPlayerIntent, type PlayerIntent } from './player-intent.js';
import type { SeededRandom } from './seeded-random.js';
import { detectFlavour, extractSettingNouns, type SettingFlavour } from './setting-flavours.js';

export type SceneTask = Extract<StoryTask, { kind: 'scene' }>;

/** Everything decided before a word is written, shared by the prose, the choices and the cast. */
export interface ScenePlan {
  task: SceneTask;
  flavour: SettingFlavour;
  /** Where the scene happens. */
  place: string;
  /** Places not yet visited in this scene, for leads and choices. */
  elsewhere: string[];
  /** Noun phrases from the author's setting ("the lighthouse"). */
  settingNouns: string[];
  /** Something found or noticed in this scene ("a brass spyglass"). */
  featuredObject: string;
  action?: PlayerIntent;
  instruction?: PlayerIntent;
  cast: CastMember[];
  isOpening: boolean;
  /** The last scene's prose, so that templates it used are not repeated straight away. */
  previousScene: string;
}

export function planScene(task: SceneTask, random: SeededRandom): ScenePlan {
  const flavour = detectFlavour(`${task.setting} ${task.storyTitle}`);
  const knownNames = task.characters.map((character) => character.name);
  const action = task.chosenAction?.trim() ? readPlayerIntent(task.chosenAction, knownNames) : undefined;
  const instruction = task.playerInstruction?.trim() ? readPlayerIntent(task.playerInstruction, knownNames) : undefined;
  const isOpening = action === undefined && task.recentScenes.length === 0;

  const places = random.shuffle(flavour.places);
  const playerWords = `${task.chosenAction ?? ''} ${task.playerInstruction ?? ''}`.toLowerCase();
  // "Head for the fish market" takes the player to the fish market.
  const visited = places.find((place) => playerWords.includes(place.toLowerCase().replace(/^the /, '')));
  const place = visited ?? (action?.kind === 'move' && action.target && !/^(your|her|his|their)\b/.test(action.target) ? action.target : places[0]!);

  const plan: ScenePlan = {
    task,
    flavour,
    place,
    elsewhere: places.filter((candidate) => candidate !== place),
    settingNouns: extractSettingNouns(task.setting),
    featuredObject: random.pick(flavour.objects),
    cast: chooseCast(random, flavour, task.characters, `${task.chosenAction ?? ''} ${task.playerInstruction ?? ''}`.trim(), isOpening),
    isOpening,
    previousScene: task.recentScenes.at(-1) ?? '',
  };
  if (action) plan.action = action;
  if (instruction) plan.instruction = instruction;
  return plan;
}

/** A template whose opening words the previous scene did not already use, so turns read differently. */
export function pickFresh(random: SeededRandom, options: readonly string[], previousScene: string): string {
  const shuffled = random.shuffle(options);
  return shuffled.find((option) => !previousScene.includes(option.slice(0, 32))) ?? shuffled[0]!;
}
