import type { AnimatedMember } from './scene-characters.js';
import type { ScenePlan } from './scene-plan.js';
import { capitalise, definite } from './phrasing.js';
import type { SeededRandom } from './seeded-random.js';

interface Candidate {
  /** Choices of the same kind are not offered together ("Head for X", "Head for Y"). */
  kind: string;
  text: string;
}

function followUpOnInstruction(plan: ScenePlan, helper: AnimatedMember | undefined): Candidate | undefined {
  const instruction = plan.instruction;
  if (!instruction) return undefined;
  const target = instruction.target && !/^(your|her|his|their)\b/.test(instruction.target) ? instruction.target : undefined;
  if (target && instruction.kind === 'search') return { kind: 'lead', text: `Search ${plan.elsewhere[0] ?? 'further afield'} for ${target}` };
  if (target && helper) return { kind: 'lead', text: `Ask ${helper.callName} what they know about ${target}` };
  if (instruction.verbFirst) return { kind: 'lead', text: `Keep trying to ${instruction.clause}` };
  return undefined;
}

/**
 * Exactly `choiceCount` distinct choices that follow from this scene: a follow-up on the
 * player's instruction first, then people, places and things the prose introduced.
 */
export function offerChoices(plan: ScenePlan, members: AnimatedMember[], random: SeededRandom): string[] {
  const present = members.filter((member) => member.role === 'present');
  const mentioned = members.find((member) => member.role === 'mentioned');
  const [first, second] = present;
  const topic = random.pick(plan.topics);
  const [nearPlace, farPlace] = plan.elsewhere;

  const lead = followUpOnInstruction(plan, first);
  const candidates: Candidate[] = [];
  if (first) {
    candidates.push({ kind: 'talk', text: `Ask ${first.callName} about ${topic}` });
    candidates.push({ kind: 'help', text: `Offer to help ${first.callName} ${first.goal}` });
    candidates.push({ kind: 'confront', text: `Confront ${first.callName} about what they are hiding` });
  }
  if (second) candidates.push({ kind: 'talk2', text: `Take ${second.callName} aside and ask what they saw` });
  if (mentioned) candidates.push({ kind: 'missing', text: `Find out what happened to ${mentioned.callName}` });
  candidates.push({ kind: 'examine', text: `Examine ${definite(plan.featuredObject)}` });
  if (nearPlace) candidates.push({ kind: 'go', text: `Head for ${nearPlace}` });
  if (farPlace) candidates.push({ kind: 'sneak', text: `Slip away toward ${farPlace} while no one is watching` });
  candidates.push({ kind: 'watch', text: `Stay out of sight and watch what happens at ${plan.place}` });
  const otherNoun = plan.topics.find((noun) => noun !== topic);
  if (otherNoun) candidates.push({ kind: 'learn', text: `Learn what you can about ${otherNoun}` });

  const fallbacks: Candidate[] = [
    { kind: 'back', text: 'Go back the way you came' },
    { kind: 'call', text: 'Call out to whoever might be listening' },
    { kind: 'stock', text: 'Take stock of what you carry' },
    { kind: 'rest', text: 'Rest a while and gather your strength' },
  ];

  const alreadyChosen = plan.task.chosenAction?.trim().toLowerCase();
  const ordered = [...(lead ? [lead] : []), ...random.shuffle(candidates), ...fallbacks];
  const choices: string[] = [];
  const usedKinds = new Set<string>();
  for (const candidate of ordered) {
    if (choices.length === plan.task.choiceCount) break;
    const text = capitalise(candidate.text);
    if (usedKinds.has(candidate.kind) || text.toLowerCase() === alreadyChosen || choices.includes(text)) continue;
    usedKinds.add(candidate.kind);
    choices.push(text);
  }
  // More choices asked for than there are ideas: still distinct, still usable.
  for (let extra = 1; choices.length < plan.task.choiceCount; extra++) choices.push(`Try another approach (${extra})`);
  return choices;
}
