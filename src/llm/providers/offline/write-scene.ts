import type { SceneCharacter } from '../../../story/scene-output.js';
import { agree, capitalise } from './phrasing.js';
import { animateCast, describeCharacters, type AnimatedMember } from './scene-characters.js';
import { offerChoices } from './scene-choices.js';
import { planScene, type ScenePlan, type SceneTask } from './scene-plan.js';
import type { SeededRandom } from './seeded-random.js';

export interface WrittenScene {
  scene: string;
  choices: string[];
  characters: SceneCharacter[];
  facts: { type: string; subject: string; text: string; status: 'added' }[];
}

/**
 * The facts the offline storyteller reports, deterministically: the place the scene is set
 * in, and what the player's own words take or promise ("take the brass key", "promise to
 * return"), as their instruction or chosen action says it.
 */
function reportFacts(plan: ScenePlan, task: SceneTask): WrittenScene['facts'] {
  const facts: WrittenScene['facts'] = [{ type: 'place', subject: plan.place, text: `You have been to ${plan.place}.`, status: 'added' }];
  for (const words of [task.playerInstruction, task.chosenAction]) {
    const said = words?.replace(/\s+/g, ' ').trim().replace(/[.!?]+$/, '');
    if (!said) continue;
    const taken = /\b(?:take|takes|pick up|pocket|keep|grab)\s+(the\s+[\p{L}\p{N}' -]{2,60})/iu.exec(said);
    if (taken) facts.push({ type: 'possession', subject: taken[1]!, text: `You carry ${taken[1]!}.`, status: 'added' });
    const promise = /\bpromise(?:s)?\s+(.{3,160})/iu.exec(said);
    if (promise) facts.push({ type: 'promise', subject: `promise ${promise[1]!.slice(0, 60)}`, text: `You promised ${promise[1]!}.`, status: 'added' });
  }
  return facts;
}

/**
 * The facts a scene's sentences are filled with. Every sentence comes from a bank of at least
 * eleven through `plan.variety`, so that none recurs within ten scenes of a path; the prose
 * is made only of these, the player's own words and the setting's nouns, never of memories,
 * thoughts or prompt text.
 */
interface Fills {
  place: string;
  Place: string;
  other: string;
  topic: string;
  sight: string;
  sound: string;
  smell: string;
  object: string;
  mood: string;
  weather: string;
  period: string;
}

const weatherWords = /^(storm|storms|wind|rain|fog|mist|snow|ice)$/;
const defaultMoods = ['quiet', 'uneasy', 'watchful', 'strange', 'still'];

function fillsFor(plan: ScenePlan, random: SeededRandom, topic: string): Fills {
  const { flavour, profile, place } = plan;
  const moods = profile.moods.filter((word) => !weatherWords.test(word));
  const weather = profile.moods.find((word) => weatherWords.test(word))?.replace(/s$/, '');
  const period = profile.period === undefined ? '' : /^\d/.test(profile.period) ? `In ${profile.period}` : `In these ${profile.period} days`;
  // Somewhere else than the topic: a place can be both ("the desert and the desert are connected").
  const elsewhere = plan.elsewhere.filter((candidate) => candidate.toLowerCase() !== topic.toLowerCase());
  return {
    place,
    Place: capitalise(place),
    other: elsewhere.find((candidate) => plan.profile.places.includes(candidate)) ?? elsewhere[0] ?? 'the way you came',
    topic,
    sight: random.pick(flavour.sights),
    sound: random.pick(flavour.sounds),
    smell: random.pick(flavour.smells),
    object: plan.featuredObject,
    mood: random.pick(moods.length > 0 ? moods : defaultMoods),
    weather: weather ?? 'wind',
    period,
  };
}

const deedLeads = [
  '', 'Without wasting any more time,', 'It is not an easy decision, but', 'Your mind made up,', 'Before anyone can stop you,',
  'Taking a slow breath,', 'Quietly,', 'Not waiting to be asked twice,', 'With your heart beating a little faster,',
  'Choosing your moment,', 'At last', 'Steadying yourself,', 'Almost before you have decided,',
];
const secondDeedLeads = [
  'Then', 'And while you are at it,', 'Before the moment passes,', 'As you meant to all along,', 'Next', 'That done,',
  'Not forgetting why you came,', 'In the same breath', 'Once that is settled,', 'Without losing your nerve,', 'After that',
  'Seizing the chance,',
];

function withLead(lead: string, deed: string): string {
  const stop = /[.!?]["”]?$/.test(deed) ? '' : '.';
  return lead === '' ? `${capitalise(deed)}${stop}` : `${lead} ${deed}${stop}`;
}

function helperOf(members: AnimatedMember[]): AnimatedMember | undefined {
  const present = members.filter((member) => member.role === 'present');
  return present.find((member) => member.addressed) ?? present[0];
}

function outcome(plan: ScenePlan, f: Fills, helper: AnimatedMember | undefined): string {
  const kind = (plan.action ?? plan.instruction)?.kind;
  if (helper && (kind === 'social' || kind === 'fight')) {
    const n = helper.callName;
    return plan.variety.pick('outcome-person', [
      `${n} hears you out, and answers more than you expected about ${f.topic}.`,
      `${n} takes a long moment before answering, and when the words come they are about ${f.topic}.`,
      `The answer is guarded: ${n} knows something about ${f.topic} and is not ready to share all of it.`,
      `${n} looks at you as if deciding how far you can be trusted with ${f.topic}.`,
      `For a heartbeat ${n} says nothing at all, and ${f.sight}.`,
      `${n} glances toward ${f.other}, and that glance says more about ${f.topic} than words would.`,
      `Whatever ${n} expected from you, it was not this.`,
      `${n} lets out a breath and begins, haltingly, to talk about ${f.topic}.`,
      `It is enough to make ${n} forget, for a moment, to be careful.`,
      `${n} answers with a question of their own, about ${f.topic}.`,
      `You catch ${n} weighing every word before it is spoken.`,
      `${n} does not argue, which is somehow worse than an argument.`,
    ]);
  }
  return plan.variety.pick('outcome-world', [
    `It takes a while, but near ${f.place} you find ${f.object}.`,
    `At ${f.place} nobody pays you much mind, and ${f.sight}.`,
    `${f.Place} is quieter than you expected; nothing breaks the silence but ${f.sound}.`,
    `By the time you are done, ${f.sight}.`,
    `The smell of ${f.smell} hangs over ${f.place} while you are at it.`,
    `You notice ${f.object}, half hidden where nobody would think to look.`,
    `It changes things, though not all at once, and ${f.sight}.`,
    `Nobody at ${f.place} tries to stop you, though more than one person watches.`,
    `For a while there is only ${f.sound} and the sense of being watched.`,
    `When you look up again, ${f.sight}.`,
    `What turns up is not what you came for: ${f.object}.`,
    `Somewhere behind you, ${f.sound} stops all at once.`,
  ]);
}

/** What the player does, in their own words, first: the choice, then the instruction. */
function deedParagraph(plan: ScenePlan, f: Fills, members: AnimatedMember[]): string {
  const { action, instruction, variety } = plan;
  const sentences: string[] = [];
  if (action) sentences.push(withLead(variety.pick('deed', deedLeads), action.deed));
  if (instruction) sentences.push(withLead(variety.pick(action ? 'second-deed' : 'deed', action ? secondDeedLeads : deedLeads), instruction.deed));
  sentences.push(outcome(plan, f, helperOf(members)));
  return sentences.join(' ');
}

function openingParagraph(plan: ScenePlan, f: Fills): string {
  const { variety, profile } = plan;
  const arrival = variety.pick('arrival', [
    `You arrive at ${f.place} as ${f.sight}.`,
    `The first thing you notice about ${f.place} is the smell of ${f.smell}.`,
    `You stand at ${f.place}, listening to ${f.sound}.`,
    `You reach ${f.place} at last, and ${f.sight}.`,
    `It is late when you come to ${f.place}, and ${f.sight}.`,
    `You come to ${f.place} with the ${f.weather} at your back.`,
    `Your first sight of ${f.place} is not a welcoming one: ${f.sight}.`,
    `You set foot in ${f.place} to the sound of ${f.sound}.`,
    `By the time you find ${f.place}, ${f.sight}.`,
    `You come to ${f.place} alone, as you were told to.`,
    `The road ends at ${f.place}, and so, for now, does your journey.`,
  ]);
  const role = profile.roles[0];
  const people = role
    ? `Everyone you pass seems to have an opinion about the ${role}, and nobody wants to share it.`
    : `People glance at you and then away, the way people do when a stranger arrives.`;
  return [arrival, `${f.period ? `${f.period}, few` : 'Few'} people come to ${f.place} without a reason, and everyone seems to be whispering about ${f.topic}.`, people].join(' ');
}

function placeSentence(plan: ScenePlan, f: Fills): string {
  return plan.variety.pick('place', [
    `${f.Place} ${agree(f.place, 'is', 'are')} every bit as ${f.mood} as you were warned.`,
    `Here at ${f.place}, ${f.sight}.`,
    `Even ${f.place} ${agree(f.place, 'feels', 'feel')} ${f.mood} today.`,
    `Beyond ${f.place} you can just make out ${f.other}.`,
    `The smell of ${f.smell} clings to everything at ${f.place}.`,
    `From ${f.place} you can hear ${f.sound}.`,
    `Nothing about ${f.place} feels safe this evening.`,
    `${f.Place} ${agree(f.place, 'seems', 'seem')} to be holding ${agree(f.place, 'its', 'their')} breath.`,
    `The ${f.weather} has followed you all the way to ${f.place}.`,
    `Every path here seems to lead back to ${f.other} in the end.`,
    `${f.period ? `${f.period}, few` : 'Few'} people linger at ${f.place} by choice.`,
    `You would not have thought ${f.place} could feel so ${f.mood}.`,
    `Some of the locals say ${f.other} ${agree(f.other, 'has', 'have')} not been the same since the last ${f.weather}.`,
  ]);
}

/** Speakers a scene's lines are set aside for (a bank of linesPerScene × minimumBank lines). */
const linesPerScene = 3;

const lines = (f: Fills): string[] => [
  `You ask a lot of questions`,
  `If it's ${f.topic} you're after, start at ${f.other}`,
  `Nobody comes to ${f.place} without a reason`,
  `Keep your voice down; there are ears everywhere`,
  `I've said more to you than to anyone this year`,
  `You're not the first stranger to come asking`,
  `There's more to ${f.topic} than anyone here admits`,
  `Don't believe what they tell you about ${f.other}`,
  `I'd leave ${f.topic} alone, if I were you`,
  `Whatever you're planning, leave me out of it`,
  `We don't see many like you around ${f.place}`,
  `Things were quieter before you came`,
  `Ask the right person and you might learn something`,
  `Some doors here are better left shut`,
  `Careful who you trust around ${f.place}`,
  `I only know what I've heard, and I've heard plenty`,
  `If you want my advice, look closer at ${f.topic}`,
  `People who ask about ${f.topic} tend to regret it`,
  `You look like someone who has lost their way`,
  `I haven't slept properly since it started`,
  `There was a time when nobody locked their doors here`,
  `Talk to me again once you've seen ${f.other}`,
  `I can't help you, and I'd be a fool to try`,
  `Half of what you'll hear is lies; the trouble is knowing which half`,
  `Someone is watching us right now, I'd wager`,
  `You'd do better to ask about what nobody mentions`,
  `I saw something I shouldn't have, and that's all I'll say`,
  `They'll tell you it's nothing; it isn't nothing`,
  `Everyone here owes someone, and nobody forgets`,
  `Come back after dark if you want the truth`,
  `I was warned about people like you`,
  `Whatever happened at ${f.other}, it isn't finished`,
  `Don't just stand there; you're drawing attention`,
];

function introduction(plan: ScenePlan, member: AnimatedMember): string {
  const n = member.name;
  const who = member.introduction;
  return plan.variety.pick(`intro/${n}`, [
    `${n}, ${who}, ${member.activity}.`,
    `Nearby, ${who} introduces themself as ${n}.`,
    `You are not alone here: ${n}, ${who}, is here too.`,
    `A newcomer catches your eye: ${n}, ${who}.`,
    `${n} is ${who}, and does not seem pleased to see you.`,
    `Someone steps out to meet you: ${n}, ${who}.`,
    `Among the few people about is ${n}, ${who}.`,
    `${n}, ${who}, has clearly been waiting for someone.`,
    `You first notice ${n}, ${who}, watching you.`,
    `There is ${who} here, who gives the name ${n}.`,
    `${n} turns out to be ${who}.`,
  ]);
}

/** Someone only talked about until now, met at last. */
function firstMeeting(plan: ScenePlan, member: AnimatedMember): string {
  const n = member.name;
  const who = member.introduction;
  return plan.variety.pick(`met/${n}`, [
    `At last you meet ${n}, of whom you have heard so much: ${who}.`,
    `So this is ${n}, the one everyone talks about: ${who}.`,
    `You know the name before you know the face: ${n}, ${who}.`,
    `${n}, whom nobody had seen for days, turns out to be ${who}.`,
  ]);
}

function mention(plan: ScenePlan, f: Fills, member: AnimatedMember): string {
  const n = member.name;
  return plan.variety.pick('mentioned', [
    `More than one person mentions ${n}, whom nobody has seen for days.`,
    `The name ${n} comes up twice, and both times the speaker lowers their voice.`,
    `Someone asks whether you have seen ${n}.`,
    `You hear ${n} spoken of, and never kindly.`,
    `Nobody has seen ${n} at ${f.place} since the week began.`,
    `Twice you hear a whispered question about ${n}.`,
    `Nobody will say where ${n} went.`,
    `A scrawled note by the door asks after ${n}.`,
    `It seems ${n} left ${f.place} in a hurry.`,
    `People change the subject whenever ${n} is mentioned.`,
    `There is talk of ${n}, who owes money to half of ${f.place}.`,
  ]);
}

/** Each person once: who they are when new, then a line in their own voice and manner. */
function castParagraph(plan: ScenePlan, f: Fills, members: AnimatedMember[]): string {
  const sentences: string[] = [];
  for (const member of members) {
    if (member.role === 'mentioned') {
      sentences.push(mention(plan, f, member));
      continue;
    }
    if (member.isNew) sentences.push(introduction(plan, member));
    else if (member.heardOfOnly) sentences.push(firstMeeting(plan, member));
    // The scene's speakers take the next lines of one story-wide rotation, so that no line
    // comes back within ten scenes, whoever says it, and nobody repeats themself.
    const verb = member.mood === 'angry' || member.mood === 'defiant' ? 'snaps' : 'says';
    const options = lines(f).map((line) => `"${line}," ${member.callName} ${verb} ${member.voice}, ${member.manner}.`);
    sentences.push(plan.variety.pick('line', options, linesPerScene));
  }
  return sentences.join(' ');
}

const genericEvents = [
  'A door bangs somewhere out of sight, and nobody goes to see why.',
  'Somewhere close, someone laughs, and then stops too suddenly.',
  'A dog starts barking and will not be quieted.',
  'For a moment every voice around you falls silent at once.',
  'Footsteps hurry past and fade before you can turn.',
  'A light goes out in a window, then another.',
  'Someone calls a name you do not know, twice, and gets no answer.',
  'The air turns colder, as if a door had opened onto the night.',
];

/** How the player came to a place the last scene was not at: the scene's first words, before what they do there. */
function moveSentence(plan: ScenePlan, f: Fills): string {
  return plan.variety.pick('move', [
    `Before long you find yourself at ${f.place}.`,
    `The way leads you on to ${f.place}, where ${f.sight}.`,
    `Your wandering brings you to ${f.place}.`,
    `Your steps take you to ${f.place} next.`,
    `You move on to ${f.place}, and ${f.sight}.`,
    `At last you come to ${f.place}.`,
  ]);
}

function closingParagraph(plan: ScenePlan, f: Fills): string {
  const event = plan.variety.pick('event', [...plan.flavour.events, ...genericEvents]);
  const tension = plan.variety.pick('tension', [
    `Whatever is happening here, it all comes back to ${f.topic}.`,
    `You have the feeling that ${f.topic} ${agree(f.topic, 'matters', 'matter')} more than anyone admits.`,
    `In the confusion you notice ${f.object} lying where it should not be.`,
    `Someone has left ${f.object} at ${f.place}, and it was not there a moment ago.`,
    `Every answer you get only makes ${f.topic} stranger.`,
    `You are sure now that ${f.topic} and ${f.other} are connected.`,
    `One thing is clear: you have not heard the last of ${f.topic}.`,
    `If anyone knows the truth about ${f.topic}, they are not saying.`,
    `It is hard to shake the sense that ${f.other} ${agree(f.other, 'is', 'are')} where this ends.`,
    `You make a note to find out more about ${f.topic}.`,
    `Something about ${f.topic} does not add up.`,
    `The answer, you suspect, lies somewhere near ${f.other}.`,
  ]);
  return `${event} ${tension}`;
}

/** The offline storyteller's scene: prose, choices and characters, all from the seed. */
export function writeScene(task: SceneTask, random: SeededRandom): WrittenScene {
  const plan = planScene(task, random);
  const members = animateCast(plan, random);
  const intent = plan.instruction ?? plan.action;
  const topic = intent?.target && /^(the|a|an)\s/i.test(intent.target) ? intent.target : random.pick(plan.topics);
  const f = fillsFor(plan, random, topic);
  const paragraphs: string[] = [];
  const deed = plan.action || plan.instruction ? deedParagraph(plan, f, members) : openingParagraph(plan, f);
  // The deed happens where the scene is, so the way there comes first.
  paragraphs.push(plan.movedOn ? `${moveSentence(plan, f)} ${deed}` : deed);
  const cast = castParagraph(plan, f, members);
  paragraphs.push([placeSentence(plan, f), cast].filter(Boolean).join(' '));
  paragraphs.push(closingParagraph(plan, f));
  return {
    scene: paragraphs.join('\n\n'),
    choices: offerChoices(plan, members, random),
    characters: describeCharacters(members, plan, random),
    facts: reportFacts(plan, task),
  };
}
