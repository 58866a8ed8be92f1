import type { SceneCharacter } from '../../../story/scene-output.js';
import { capitalise, definite, mentionsName } from './phrasing.js';
import { animateCast, describeCharacters, type AnimatedMember } from './scene-characters.js';
import { offerChoices } from './scene-choices.js';
import { pickFresh, planScene, type ScenePlan, type SceneTask } from './scene-plan.js';
import type { SeededRandom } from './seeded-random.js';

export interface WrittenScene {
  scene: string;
  choices: string[];
  characters: SceneCharacter[];
}

/** "This is a foggy harbour town where ships vanish." when the setting reads as a description. */
function settingSentence(plan: ScenePlan): string {
  const firstSentence = (plan.task.setting.trim().split(/(?<=[.!?])\s/)[0] ?? '').replace(/[.!?]+$/, '');
  if (/^(a|an|the)\s/i.test(firstSentence) && firstSentence.length <= 200) {
    return `This is ${firstSentence.charAt(0).toLowerCase()}${firstSentence.slice(1)}.`;
  }
  const noun = plan.settingNouns[0];
  return noun ? `Everyone here seems to have an opinion about ${noun}.` : '';
}

function openingParagraph(plan: ScenePlan, random: SeededRandom): string {
  const { flavour, place } = plan;
  const sight = random.pick(flavour.sights);
  const sound = random.pick(flavour.sounds);
  const smell = random.pick(flavour.smells);
  const lead = pickFresh(random, [
    `You arrive at ${place} as ${sight}. ${capitalise(sound)} follows you wherever you go.`,
    `The first thing you notice about ${place} is the smell of ${smell}; the second is that ${sight}.`,
    `You stand at ${place}, listening to ${sound}, while ${sight}.`,
    `${capitalise(sight)} when you first set foot in ${place}. Over ${sound}, you can hear your own heartbeat.`,
  ], plan.previousScene);
  return [lead, settingSentence(plan)].filter(Boolean).join(' ');
}

function addressee(plan: ScenePlan, members: AnimatedMember[]): AnimatedMember | undefined {
  const present = members.filter((member) => member.role === 'present');
  return present.find((member) => member.addressed) ?? present[0];
}

function actionParagraph(plan: ScenePlan, members: AnimatedMember[], random: SeededRandom): string {
  const action = plan.action!;
  const { flavour, place } = plan;
  const clause = action.clause;
  const lead = action.verbFirst
    ? pickFresh(random, [
        `You ${clause}.`,
        `Without wasting any more time, you ${clause}.`,
        `It is not an easy decision, but you ${clause}.`,
        `You make up your mind and ${clause}.`,
        `Before anyone can stop you, you ${clause}.`,
      ], plan.previousScene)
    : `You go with your choice: ${clause}.`;
  const helper = addressee(plan, members);
  const name = helper?.callName;
  const topic = action.target ?? random.pick(plan.settingNouns.length > 0 ? plan.settingNouns : [definite(plan.featuredObject)]);
  const sight = random.pick(flavour.sights);
  const outcomes: Record<typeof action.kind, string[]> = {
    social: name
      ? [
          `${name} hears you out, and answers more than you expected about ${topic}.`,
          `${name} takes a long moment before answering, and when the words come they are about ${topic}.`,
          `The answer is guarded: ${name} knows something about ${topic} and is not ready to share all of it.`,
        ]
      : [`Nobody answers at first; then a voice from the shadows mutters something about ${topic}.`],
    search: [
      `It takes a while, but near ${place} you find ${plan.featuredObject}.`,
      `Your search turns up ${plan.featuredObject}, half hidden where nobody would think to look.`,
      `You find little at first. Then, just as ${sight}, you spot ${plan.featuredObject}.`,
    ],
    move: [
      `The way to ${place} is longer than it looked, and by the time you arrive ${sight}.`,
      `You reach ${place} just as ${sight}.`,
      `${capitalise(place)} is quieter than you expected; nothing breaks the silence but ${random.pick(flavour.sounds)}.`,
    ],
    fight: [
      name ? `${name} steps back, hands raised, and for a heartbeat the moment hangs.` : `For a heartbeat the moment hangs, and nobody breathes.`,
      `The air goes tight. It could go either way, and everyone at ${place} knows it.`,
      `Your boldness earns a moment of shocked silence and more than one hostile stare.`,
    ],
    wait: [
      `You keep still and watch. Before long ${sight}, and you notice what others miss: ${plan.featuredObject}.`,
      `Patience pays. Hidden by ${random.pick(flavour.sounds)}, you see far more than anyone intends.`,
    ],
    other: [
      `What follows is not quite what you expected: ${sight}.`,
      `It changes things, though not all at once. Around you, ${sight}.`,
      `The consequences arrive quickly. At ${place}, ${sight}.`,
    ],
  };
  return `${lead} ${random.pick(outcomes[action.kind])}`;
}

function instructionParagraph(plan: ScenePlan, members: AnimatedMember[], random: SeededRandom): string {
  const instruction = plan.instruction!;
  const lead = instruction.verbFirst
    ? pickFresh(random, [
        `Above all, you mean to ${instruction.clause}.`,
        `You set out to ${instruction.clause}.`,
        `You have not forgotten your purpose: to ${instruction.clause}.`,
        `Your mind is made up: you will ${instruction.clause}.`,
      ], plan.previousScene)
    : `You keep one thing firmly in mind: ${instruction.clause}.`;
  const helper = addressee(plan, members);
  const target = instruction.target;
  const somewhere = plan.elsewhere[1] ?? plan.elsewhere[0] ?? 'somewhere close';
  const aboutSomeoneOrSomething = target && !/^(your|her|his|their)\b/.test(target) && instruction.kind !== 'fight';
  let follow: string;
  if (aboutSomeoneOrSomething && helper) {
    follow = random.pick([
      `"${capitalise(target)}?" ${helper.callName} repeats. "Last anyone heard, ${target} was somewhere near ${somewhere}."`,
      `Asking after ${target} earns you a few odd looks, but ${helper.callName} finally points you toward ${somewhere}.`,
      `Nobody at ${plan.place} wants to talk about ${target}, and ${helper.callName}'s silence tells you more than words would.`,
    ]);
  } else if (aboutSomeoneOrSomething) {
    follow = `There is no sign of ${target} here yet, but a trail of small clues leads toward ${somewhere}.`;
  } else {
    follow = helper
      ? `${helper.callName} watches you, and says nothing for a long moment.`
      : `It is not long before everyone at ${plan.place} knows what you intend.`;
  }
  return `${lead} ${follow}`;
}

function castParagraph(plan: ScenePlan, members: AnimatedMember[], random: SeededRandom): string {
  const sentences: string[] = [];
  const intent = plan.action ?? plan.instruction;
  const usedLines = new Set<number>();
  for (const member of members) {
    if (member.role === 'mentioned') {
      sentences.push(random.pick([
        `More than one person mentions ${member.name}, ${member.introduction.replace(/ with .*/, '')} nobody has seen for days.`,
        `The name ${member.name} comes up twice, and both times the speaker lowers their voice.`,
      ]));
      continue;
    }
    if (member.isNew) {
      sentences.push(random.pick([
        `${member.name}, ${member.introduction}, ${member.activity}.`,
        `Nearby, ${member.introduction} introduces themself as ${member.name}.`,
        `You are not alone: ${member.name}, ${member.introduction}, ${member.activity}.`,
      ]));
    } else {
      sentences.push(`${member.callName} ${member.activity}, looking ${member.mood}.`);
      const memory = member.memories[0];
      if (memory && random.chance(0.4)) sentences.push(`${member.callName} has clearly not forgotten: ${memory.replace(/[.!?]*$/, '.')}`);
    }
    const selfMentioned = intent ? mentionsName(intent.clause, member.name) : false;
    const noun = random.pick(plan.settingNouns.length > 0 ? plan.settingNouns : [definite(plan.featuredObject)]);
    const name = member.callName;
    const kindLines: Record<string, string> = {
      social: `"You ask a lot of questions," ${name} says.`,
      search: `"Find anything interesting?" ${name} asks.`,
      move: `"Didn't expect to see you here," ${name} says.`,
      wait: `"You've been watching a while," ${name} says. "I noticed."`,
      fight: `"Put that away," ${name} says. "Nobody needs to get hurt."`,
      other: `"That's one way to get noticed," ${name} says.`,
    };
    const lines = !intent
      ? [
          `"You're not from around here," ${name} says. "Nobody comes to ${plan.place} without a reason."`,
          `"If you're here about ${noun}, you're late," ${name} says.`,
          `"Keep your voice down," ${name} says. "There are ears everywhere."`,
        ]
      : [
          kindLines[intent.kind] ?? kindLines['other']!,
          `"I didn't think you'd actually do it," ${name} says.`,
          `"Careful," ${name} says quietly. "Not everyone here will like that."`,
          selfMentioned
            ? `"You came to me," ${name} says. "That was either brave or foolish."`
            : `"If it's ${noun} you're after, you'll need more than luck," ${name} says.`,
        ];
    // Two people in one scene do not say the same line.
    const fresh = lines.map((_, index) => index).filter((index) => !usedLines.has(index));
    const chosen = fresh.length > 0 ? random.pick(fresh) : random.int(lines.length);
    usedLines.add(chosen);
    sentences.push(lines[chosen]!);
  }
  return sentences.join(' ');
}

function closingParagraph(plan: ScenePlan, random: SeededRandom, objectAlreadyShown: boolean): string {
  const event = random.pick(plan.flavour.events);
  const noun = plan.settingNouns[random.int(Math.max(1, plan.settingNouns.length))];
  const tension = objectAlreadyShown
    ? noun
      ? random.pick([`Whatever is happening here, ${noun} is at the heart of it.`, `You have the feeling that ${noun} matters more than anyone admits.`])
      : `Something here is not what it seems.`
    : random.pick([
        `In the confusion you notice ${plan.featuredObject} lying where it should not be.`,
        `Someone has left ${plan.featuredObject} at ${plan.place}, and it was not there a moment ago.`,
      ]);
  return `${event} ${tension}`;
}

/** The offline storyteller's scene: prose, choices and characters, all from the seed. */
export function writeScene(task: SceneTask, random: SeededRandom): WrittenScene {
  const plan = planScene(task, random);
  const members = animateCast(plan, random);
  const paragraphs: string[] = [];
  paragraphs.push(plan.action ? actionParagraph(plan, members, random) : openingParagraph(plan, random));
  if (plan.instruction) paragraphs.push(instructionParagraph(plan, members, random));
  if (members.length > 0) paragraphs.push(castParagraph(plan, members, random));
  const objectShown = paragraphs.some((paragraph) => paragraph.includes(plan.featuredObject));
  paragraphs.push(closingParagraph(plan, random, objectShown));
  return {
    scene: paragraphs.join('\n\n'),
    choices: offerChoices(plan, members, random),
    characters: describeCharacters(members, plan, random),
  };
}
