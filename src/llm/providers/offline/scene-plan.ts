import type { StoryTask } from '../../provider.js';
import { chooseCast, type CastMember } from './scene-cast.js';
import { readPlayerIntent, type PlayerIntent } from './player-intent.js';
import type { SeededRandom } from './seeded-random.js';
import { detectFlavour, type SettingFlavour } from './setting-flavours.js';
import { readSetting, type SettingProfile } from './setting-profile.js';
import { createVariety, type Variety } from './variety.js';
import { definite } from './phrasing.js';

export type SceneTask = Extract<StoryTask, { kind: 'scene' }>;

/** Everything decided before a word is written, shared by the prose, the choices and the cast. */
export interface ScenePlan {
  task: SceneTask;
  flavour: SettingFlavour;
  /** Where the scene happens. */
  place: string;
  /** Places not yet visited in this scene, for leads and choices. */
  elsewhere: string[];
  /** What the author's setting names: places, people, things, period, mood. */
  profile: SettingProfile;
  /** Things worth talking about, the setting's own first ("the lamp", "the wreckers"). */
  topics: string[];
  /** Something found or noticed in this scene ("a brass spyglass"). */
  featuredObject: string;
  action?: PlayerIntent;
  instruction?: PlayerIntent;
  cast: CastMember[];
  isOpening: boolean;
  /** The scene is somewhere the last one was not, and the player did not ask to go there: the prose says how they got there. */
  movedOn: boolean;
  /** Picks the wording of each sentence so that none recurs along the path. */
  variety: Variety;
}

export function planScene(task: SceneTask, random: SeededRandom): ScenePlan {
  const flavour = detectFlavour(`${task.setting} ${task.storyTitle}`);
  const knownNames = task.characters.map((character) => character.name);
  const action = task.chosenAction?.trim() ? readPlayerIntent(task.chosenAction, knownNames) : undefined;
  const instruction = task.playerInstruction?.trim() ? readPlayerIntent(task.playerInstruction, knownNames) : undefined;
  const isOpening = action === undefined && task.recentScenes.length === 0;

  const profile = readSetting(task.setting);
  // A lighthouse story happens at the lighthouse: the setting's own places come first.
  const settingPlaces = profile.places;
  const places = [...random.shuffle(settingPlaces), ...random.shuffle(flavour.places)];
  // "Head for the fish market" takes the player to the fish market; "ask about the fish market" does not.
  const destinationWords = [task.chosenAction ?? '', task.playerInstruction ?? ''].map((words) => words.toLowerCase().replace(/\babout\b.*$/, '')).join(' ');
  const visited = places.find((place) => destinationWords.includes(place.toLowerCase().replace(/^the /, '')));
  const moveTarget = action?.kind === 'move' && action.target && !/^(your|her|his|their)\b/.test(action.target) ? action.target : undefined;
  const usual = settingPlaces.length > 0 && (isOpening || random.chance(0.75)) ? (isOpening ? settingPlaces[0]! : random.pick(settingPlaces)) : random.pick(flavour.places);
  const place = visited ?? moveTarget ?? usual;
  const lastScene = task.recentScenes[task.recentScenes.length - 1]?.toLowerCase();
  // Somewhere else than the last scene: it named a place of the story, and not this one.
  const words = (candidate: string) => candidate.toLowerCase().replace(/^the /, '');
  const placeWords = words(place);
  const atNewPlace = !isOpening && lastScene !== undefined && !lastScene.includes(placeWords) && places.some((candidate) => lastScene.includes(words(candidate)));
  // Where the player asked to go, the deed already says how they got there.
  const movedOn = atNewPlace && visited === undefined && moveTarget === undefined;
  const topics = [...profile.things, ...settingPlaces.filter((candidate) => candidate !== place)];

  const plan: ScenePlan = {
    task,
    flavour,
    place,
    elsewhere: places.filter((candidate) => candidate !== place),
    profile,
    topics: topics.length > 0 ? topics : flavour.objects.map(definite),
    featuredObject: random.pick(flavour.objects),
    cast: chooseCast(random, flavour, profile, task.characters, `${task.chosenAction ?? ''} ${task.playerInstruction ?? ''}`.trim(), isOpening, atNewPlace ? { place: placeWords, lastScene: lastScene! } : undefined),
    isOpening,
    movedOn,
    variety: createVariety(`${task.storyTitle}\u0000${task.setting}`, task.sceneNumber, task.recentScenes),
  };
  if (action) plan.action = action;
  if (instruction) plan.instruction = instruction;
  return plan;
}
