import type { StoryTask } from '../../provider.js';
import { isVerb, readPlayerIntent } from './player-intent.js';
import type { SeededRandom } from './seeded-random.js';
import { detectFlavour } from './setting-flavours.js';
import { readSetting } from './setting-profile.js';
import { agree } from './phrasing.js';

type TalkTask = Extract<StoryTask, { kind: 'talk' }>;

const sulkyMoods = /\b(angry|furious|bitter|annoyed|irritated|hostile|guarded|wary|suspicious|grim|defiant)\b/i;
const brightMoods = /\b(happy|cheerful|warm|amused|glad|excited|content|curious|hopeful)\b/i;

/** The player's words from the character's side: "my brother" → "your brother", "you" → "I". */
function fromTheirSide(text: string): string {
  const swaps: Record<string, string> = {
    i: 'you', me: 'you', my: 'your', mine: 'yours', myself: 'yourself', am: 'are',
    you: 'I', your: 'my', yours: 'mine', yourself: 'myself', "i'm": "you're", "you're": "I'm",
  };
  return text.replace(/\b(i'm|you're|i|me|my|mine|myself|am|you|your|yours|yourself)\b/gi, (word) => swaps[word.toLowerCase()] ?? word);
}

type Question = 'where' | 'who' | 'what' | 'why' | 'how' | 'when' | 'yesno' | 'about-me' | 'none';

interface Reading {
  question: Question;
  /** What the message is about, from the character's side: "the lighthouse keeper", "your brother". */
  subject?: string;
  /** For questions about the character ("are you angry with me?"): "angry with me" → "angry with you". */
  aboutMe?: string;
  greeting: boolean;
  apology: boolean;
  request: boolean;
}

const determiner = /^(the|a|an|my|your|his|her|their|this|that)$/i;
const glue = /^(of|to|in|at|on|for|with|and|or|is|are|was|were|be|been|about|from|by|here|there|now|again|today|tonight)$/i;

/** The first noun phrase: a determiner and up to three words, stopping at glue and verbs ("the keeper leave" → "the keeper"). */
function firstNounPhrase(text: string): string | undefined {
  const words = text.replace(/[?.!,;:]+/g, ' ').split(/\s+/).filter(Boolean);
  const start = words.findIndex((word) => determiner.test(word));
  if (start < 0 || start + 1 >= words.length) return undefined;
  const phrase = [words[start]!, words[start + 1]!];
  for (const word of words.slice(start + 2, start + 4)) {
    if (glue.test(word) || determiner.test(word) || isVerb(word)) break;
    phrase.push(word);
  }
  return phrase.join(' ');
}

function readMessage(message: string, setting: string): Reading {
  const text = message.trim().replace(/\s+/g, ' ');
  const lower = text.toLowerCase();
  const reading: Reading = {
    question: 'none',
    greeting: /^(hi|hello|hey|greetings|good (morning|evening|day|afternoon))\b/i.test(text),
    apology: /\b(sorry|apologi[sz]e|forgive me)\b/i.test(text),
    request: /^(please\s+)?(help|show|give|take|come)\b/i.test(text) || /\b(can|could|will|would) you (help|show|give|take|come|find)\b/i.test(text),
  };
  const aboutMe = /^(?:are|were|do|did|will|would|can|could)\s+you\s+(.+?)\??$/i.exec(text);
  if (aboutMe && !/^(know|remember|seen|see|tell|help|show)\b/i.test(aboutMe[1]!)) {
    reading.question = 'about-me';
    reading.aboutMe = fromTheirSide(aboutMe[1]!.replace(/\?+$/, ''));
  } else if (/^(where)\b/i.test(lower)) reading.question = 'where';
  else if (/^(who|whose)\b/i.test(lower)) reading.question = 'who';
  else if (/^(what|which|tell me|what about)\b/i.test(lower)) reading.question = 'what';
  else if (/^why\b/i.test(lower)) reading.question = 'why';
  else if (/^how\b/i.test(lower)) reading.question = 'how';
  else if (/^when\b/i.test(lower)) reading.question = 'when';
  else if (/\?$/.test(text) || /^(is|are|was|were|do|does|did|can|could|will|would|have|has)\b/i.test(lower)) reading.question = 'yesno';
  // The subject: a noun phrase of the message, a name it mentions, or a setting noun it uses.
  const phrase = firstNounPhrase(text) ?? readPlayerIntent(text.replace(/\?+$/, '')).target;
  const settingNoun = [...readSetting(setting).places, ...readSetting(setting).things].find((noun) => lower.includes(noun.toLowerCase().replace(/^the /, '')));
  const name = /\b(?!I\b)(\p{Lu}\p{Ll}+)\b/u.exec(text.replace(/^\S+\s*/, ''))?.[1];
  const subject = phrase ? fromTheirSide(phrase.replace(/[?.!,]+$/, '')) : settingNoun ?? name;
  if (subject && !/^(a|an|the|this|that) (way|thing|time|moment|bit)$/i.test(subject)) reading.subject = subject;
  return reading;
}

function personalityTouch(personality: string): string {
  if (/secretive|suspicious|calculating|sly/i.test(personality)) return " But you didn't hear it from me.";
  if (/kind|generous|warm|cheerful|gentle/i.test(personality)) return ' Look after yourself out there.';
  if (/blunt|gruff|quick-tempered|stubborn|proud/i.test(personality)) return " That's all I'll say.";
  return '';
}

function capitaliseFirst(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * An in-character reply that answers what was asked: where → a place, who → a person, yes or
 * no → yes or no, a question about the character → about themself. Trust decides how open
 * they are, mood colours the tone; memories are never quoted, only acknowledged.
 */
export function writeTalkReply(task: TalkTask, random: SeededRandom): string {
  const { character, message } = task;
  const trust = character.trust ?? 0;
  const mood = character.mood ?? '';
  const reading = readMessage(message, task.setting);
  const profile = readSetting(task.setting);
  const places = profile.places.length > 0 ? profile.places : detectFlavour(task.setting).places;
  const place = random.pick(places);
  const subject = reading.subject;
  const Subject = subject ? capitaliseFirst(subject) : '';
  const open = trust > 0.4;
  const hostile = trust < -0.2;

  const opener = reading.greeting
    ? trust > 0.3 ? random.pick(['Good to see you again.', 'There you are.']) : random.pick(['Hm. Hello.', 'You again.', 'Yes?'])
    : sulkyMoods.test(mood)
      ? random.pick(["I'm in no mood for this.", 'Make it quick.', 'What now?'])
      : brightMoods.test(mood)
        ? random.pick(['Ha! Go on, then.', 'Now that is a good question.', "I'm glad you asked me."])
        : random.pick(['Let me think.', 'Well.', 'Hm.']);

  let body: string;
  if (hostile && reading.question !== 'none') {
    body = subject
      ? random.pick([`Why would I tell you anything about ${subject}?`, `${Subject}? That is none of your business.`, `You want to talk about ${subject}? After what you did?`])
      : random.pick(['Why would I tell you anything?', 'That is none of your business.', 'After what you did, you ask me that?']);
  } else if (reading.apology) {
    body = open ? 'Apology accepted. We all make mistakes out here.' : 'Sorry is a word. Show me you mean it.';
  } else if (reading.question === 'about-me') {
    // "Are you angry with me?" is answered by the mood; "will you help me?" by trust.
    const negative = /\b(angry|upset|afraid|scared|worried|lying|hiding|mad)\b/.test(reading.aboutMe ?? '');
    const yes = negative ? sulkyMoods.test(mood) : open;
    body = yes ? `Am I ${reading.aboutMe}? Yes, if you must know.` : `Am I ${reading.aboutMe}? No. Not the way you mean.`;
  } else if (reading.request) {
    body = open
      ? `I'll help you${subject ? ` with ${subject}` : ''}. Meet me at ${place}.`
      : `Help you${subject ? ` with ${subject}` : ''}? Maybe. It depends what's in it for me.`;
  } else if (!subject && reading.question !== 'none' && !reading.greeting) {
    body = open
      ? `More than anyone here will admit. If you want the truth, start at ${place}.`
      : random.pick(["Nothing I'd tell a stranger.", `Ask someone at ${place}; I keep out of it.`]);
  } else if (reading.greeting || !subject) {
    body = reading.request
      ? open ? "I'll help if I can. Tell me what you need." : 'Maybe. It depends what you want from me.'
      : trust > 0.3 ? 'What do you need from me?' : 'Say what you came to say.';
  } else {
    switch (reading.question) {
      case 'where':
        body = open ? `${Subject}? Try ${place}, and don't go alone.` : `${Subject}? Somewhere near ${place}, last I heard. Might be wrong.`;
        break;
      case 'who':
        body = open ? `${Subject}? Someone who has kept this place's secrets longer than anyone.` : `${Subject}? Nobody you want to cross.`;
        break;
      case 'why':
        body = open ? `Because of ${subject}, mostly. It always comes back to that.` : `Why? Ask the people at ${place}, not me.`;
        break;
      case 'how':
      case 'when':
        body = open ? `With ${subject}, slowly and carefully. Start at ${place}.` : `${Subject}? Before long, if the talk at ${place} is true.`;
        break;
      case 'yesno':
        body = open ? `Yes. ${Subject} ${agree(subject, 'is', 'are')} part of it, I'm sure of that.` : `Maybe. I've heard talk about ${subject}, but talk is cheap around ${place}.`;
        break;
      case 'what':
        body = open ? `About ${subject}? I'll tell you what I know, because it's you. Start at ${place}.` : `${Subject}? I might know a thing or two about that. Might.`;
        break;
      default:
        body = open ? `If you're set on ${subject}, I'll help where I can.` : `${Subject}, is it? I'll think on that.`;
    }
  }

  const recollection = (character.memories?.length ?? 0) > 0 && random.chance(0.4) ? " I haven't forgotten what happened, you know." : '';
  return `${opener} ${body}${recollection}${personalityTouch(character.personality ?? '')}`.trim();
}
