import type { SceneCharacter } from '../../../story/scene-output.js';
import { hearsayDescription, heardOfAs, type CastMember } from './scene-cast.js';
import type { ScenePlan } from './scene-plan.js';
import { capitalise, replaceName, toThirdPerson } from './phrasing.js';
import type { IntentKind } from './player-intent.js';
import type { SeededRandom } from './seeded-random.js';

type Emotion = { valence: number; arousal: number; dominance: number };

const moodEmotions: Record<string, Emotion> = {
  alarmed: { valence: -0.5, arousal: 0.7, dominance: -0.2 },
  angry: { valence: -0.6, arousal: 0.7, dominance: 0.4 },
  defiant: { valence: -0.3, arousal: 0.5, dominance: 0.5 },
  curious: { valence: 0.3, arousal: 0.4, dominance: 0.1 },
  warm: { valence: 0.6, arousal: 0.2, dominance: 0.1 },
  amused: { valence: 0.5, arousal: 0.3, dominance: 0.2 },
  guarded: { valence: -0.2, arousal: 0.2, dominance: 0.1 },
  wary: { valence: -0.2, arousal: 0.3, dominance: 0 },
  uneasy: { valence: -0.3, arousal: 0.4, dominance: -0.2 },
  watchful: { valence: 0, arousal: 0.3, dominance: 0.1 },
  calm: { valence: 0.2, arousal: -0.3, dominance: 0.2 },
  tired: { valence: -0.1, arousal: -0.5, dominance: -0.2 },
};

const moodsByIntent: Record<IntentKind | 'arrival', { trusting: string[]; distrustful: string[] }> = {
  fight: { trusting: ['alarmed', 'defiant'], distrustful: ['angry', 'defiant'] },
  social: { trusting: ['curious', 'warm', 'amused'], distrustful: ['guarded', 'wary'] },
  search: { trusting: ['curious', 'watchful'], distrustful: ['uneasy', 'wary'] },
  move: { trusting: ['watchful', 'curious'], distrustful: ['wary', 'uneasy'] },
  wait: { trusting: ['calm', 'watchful'], distrustful: ['uneasy', 'guarded'] },
  other: { trusting: ['curious', 'calm', 'amused'], distrustful: ['wary', 'guarded'] },
  arrival: { trusting: ['curious', 'tired', 'calm'], distrustful: ['wary', 'guarded'] },
};

const reactionVerbs: Record<string, string[]> = {
  alarmed: ['flinches', 'takes a quick step back'],
  angry: ['glares', 'goes red in the face'],
  defiant: ['squares up', 'lifts their chin'],
  curious: ['leans in', 'tilts their head'],
  warm: ['smiles', 'nods encouragingly'],
  amused: ['laughs softly', 'hides a grin'],
  guarded: ['goes very still', 'folds their arms'],
  wary: ['watches closely', 'narrows their eyes'],
  uneasy: ['glances toward the way out', 'shifts from foot to foot'],
  watchful: ['follows every move', 'says nothing, but misses nothing'],
  calm: ['nods', 'waits patiently'],
  tired: ['sighs', 'rubs their eyes'],
};

const trustDeltas: Record<IntentKind | 'arrival', { trust: number; sentiment: number }> = {
  fight: { trust: -0.2, sentiment: -0.2 },
  social: { trust: 0.1, sentiment: 0.1 },
  search: { trust: 0.02, sentiment: 0 },
  move: { trust: 0, sentiment: 0 },
  wait: { trust: 0, sentiment: -0.02 },
  other: { trust: 0.05, sentiment: 0.05 },
  arrival: { trust: 0, sentiment: 0.02 },
};

/** A cast member with what they feel, do and think in this scene. */
export interface AnimatedMember extends CastMember {
  mood: string;
  /** A verb phrase: "keeps a careful distance". */
  activity: string;
  reactionVerb: string;
}

export function animateCast(plan: ScenePlan, random: SeededRandom): AnimatedMember[] {
  const intentKind = plan.action?.kind ?? plan.instruction?.kind ?? 'arrival';
  // Shuffled once and dealt out, so that two people in a scene never do the same thing.
  const activities = random.shuffle([
    `keeps a careful distance`,
    `leans against the wall near ${plan.place}, watching`,
    `paces back and forth`,
    `counts coins into a pouch without looking at them`,
    `hums under their breath`,
    `keeps glancing toward ${plan.elsewhere[0] ?? 'the way out'}`,
    `scribbles something in a small notebook`,
    `is busy with work that is clearly only an excuse to stay close`,
  ]);
  return plan.cast.map((member, index) => {
    const moods = moodsByIntent[intentKind];
    const mood = random.pick(member.trust < -0.1 ? moods.distrustful : random.chance(0.7) ? moods.trusting : moods.distrustful);
    const activity = activities[index % activities.length]!;
    return { ...member, mood, activity, reactionVerb: random.pick(reactionVerbs[mood] ?? ['nods']) };
  });
}

/** What the member thinks: each present character of a scene gets a thought of its own. */
function thoughtFor(member: AnimatedMember, plan: ScenePlan, random: SeededRandom, taken: Set<string>): string {
  const candidates = thoughtCandidates(member, plan, random);
  // The first draw stands unless someone in this scene already thinks it (no extra draw, so seeds keep their scenes).
  // Two people may want the same thing: their fallbacks say it differently.
  const fallbacks = [
    `I came here to ${member.goal}. That has not changed.`,
    `Whatever this stranger wants, I still have to ${member.goal}.`,
    `Nothing here changes what I came for: to ${member.goal}.`,
    `I will keep my own counsel, and my eyes on this stranger.`,
  ];
  const chosen = [...candidates.slice(candidates.length - 1), ...candidates.slice(0, -1), ...fallbacks].find((thought) => !taken.has(thought)) ?? fallbacks[0]!;
  taken.add(chosen);
  return chosen;
}

/** Thoughts that fit, the drawn one last, then the ones to fall back on in order. */
function thoughtCandidates(member: AnimatedMember, plan: ScenePlan, random: SeededRandom): string[] {
  const { action, instruction } = plan;
  // Only a definite thing or person makes sense as "what do they know about …" ("her name" does not).
  if (instruction?.target && /^(the|a|an) /.test(instruction.target) && instruction.verbFirst && random.chance(0.5)) {
    const theirAim = toThirdPerson(instruction.clause, member.name);
    return [`Why is this stranger so keen to ${theirAim}? What do they know about ${toThirdPerson(instruction.target, member.name)}?`];
  }
  const intent = action ?? instruction;
  if (!intent) {
    return drawn(random, [`A new face at ${plan.place}. I wonder what they want.`, `Maybe this newcomer can help me ${member.goal}.`, `Another stranger. Keep quiet, and watch.`]);
  }
  if (!intent.verbFirst) return [`I can't tell yet what that choice of theirs means for me.`];
  const theirDeed = toThirdPerson(intent.clause, member.name);
  if (intent.kind === 'fight') return [`I did not expect them to ${theirDeed}. I need to be careful now.`];
  return drawn(random, [
    `Why would anyone ${theirDeed}? I should keep an eye on this one.`,
    `If they really mean to ${theirDeed}, maybe they can help me ${member.goal}.`,
    `They chose to ${theirDeed}. That changes things.`,
  ]);
}

/** One random pick, as `random.pick` draws it, put last; the others keep their order before it. */
function drawn(random: SeededRandom, options: string[]): string[] {
  const pick = random.pick(options);
  return [...options.filter((option) => option !== pick), pick];
}

function reactionFor(member: AnimatedMember, plan: ScenePlan): string {
  const intent = plan.action ?? plan.instruction;
  if (!intent) return `${capitalise(member.callName)} ${member.reactionVerb} as you arrive.`;
  const deed = intent.verbFirst ? replaceName(intent.clause, member.name, 'them', 'their') : 'make your choice';
  return `${capitalise(member.callName)} ${member.reactionVerb} when you ${deed}.`;
}

function presentDescription(member: AnimatedMember, place: string): string {
  const heardOf = heardOfAs(member.description);
  if (heardOf) return `${capitalise(heardOf)}, met at ${place}.`;
  return member.description ?? (member.introduction ? `${capitalise(member.introduction)}, met at ${place}.` : `Met again at ${place}.`);
}

/** The `characters` entries of the scene JSON. */
export function describeCharacters(members: AnimatedMember[], plan: ScenePlan, random: SeededRandom): SceneCharacter[] {
  const intentKind = plan.action?.kind ?? plan.instruction?.kind ?? 'arrival';
  const present = members.filter((member) => member.role === 'present');
  const thoughts = new Set<string>();
  return members.map((member): SceneCharacter => {
    if (member.role === 'mentioned') {
      return {
        name: member.name,
        role: 'mentioned',
        importance: 0.3,
        description: hearsayDescription(member.introduction, plan.place),
        goals: member.goal,
      };
    }
    const deltas = trustDeltas[intentKind];
    const relationships: NonNullable<SceneCharacter['relationships']> = [
      {
        target: 'player',
        familiarityDelta: member.addressed ? 0.2 : 0.1,
        trustDelta: deltas.trust,
        sentimentDelta: deltas.sentiment,
        type: member.isNew ? 'stranger' : 'acquaintance',
      },
    ];
    for (const other of present) {
      if (other !== member) relationships.push({ target: other.name, familiarityDelta: 0.05, type: 'acquaintance' });
    }
    return {
      name: member.name,
      role: 'present',
      importance: member.addressed ? 0.8 : member.isNew ? 0.5 : 0.6,
      description: presentDescription(member, plan.place),
      personality: member.personality ?? 'hard to read',
      goals: member.goal,
      mood: member.mood,
      emotion: moodEmotions[member.mood] ?? { valence: 0, arousal: 0, dominance: 0 },
      thought: thoughtFor(member, plan, random, thoughts),
      // Agents act on their own now and then, not every one every turn.
      ...(random.chance(0.5) ? { action: `${capitalise(member.callName)} ${member.activity}.` } : {}),
      reaction: reactionFor(member, plan),
      relationships,
    };
  });
}
