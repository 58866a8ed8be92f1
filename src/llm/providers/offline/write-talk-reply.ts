import type { StoryTask } from '../../provider.js';
import { readPlayerIntent } from './player-intent.js';
import type { SeededRandom } from './seeded-random.js';
import { detectFlavour } from './setting-flavours.js';

type TalkTask = Extract<StoryTask, { kind: 'talk' }>;

const sulkyMoods = /\b(angry|furious|bitter|annoyed|irritated|hostile|guarded|wary|suspicious|grim|defiant)\b/i;
const brightMoods = /\b(happy|cheerful|warm|amused|glad|excited|content|curious|hopeful)\b/i;

/** The subject of what the player said: "where is the lighthouse keeper?" → "the lighthouse keeper". */
function subjectOf(message: string): string | undefined {
  const intent = readPlayerIntent(message.replace(/\?+\s*$/, ''));
  if (intent.target) return intent.target.replace(/^your\b/, 'my').replace(/^my\b/, 'your');
  const words = message.replace(/[^\p{L}\p{N}'\s]/gu, ' ').split(/\s+/).filter((word) => word.length > 3);
  return words.length > 0 ? words.slice(-2).join(' ').toLowerCase() : undefined;
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
 * An in-character reply: trust decides how open the character is, mood colours the tone,
 * a memory comes up now and then, and the reply is about what the player actually asked.
 */
export function writeTalkReply(task: TalkTask, random: SeededRandom): string {
  const { character, message } = task;
  const trust = character.trust ?? 0;
  const mood = character.mood ?? '';
  const subject = subjectOf(message);
  const isQuestion = /\?\s*$/.test(message.trim()) || /^(who|what|where|when|why|how|do|does|did|is|are|can|could|will|would)\b/i.test(message.trim());
  const isGreeting = /^(hi|hello|hey|greetings|good (morning|evening|day))\b/i.test(message.trim());
  const place = detectFlavour(task.setting).places[0] ?? 'here';

  const opener = isGreeting
    ? trust > 0.3 ? random.pick(['Good to see you again.', 'There you are.']) : random.pick(['Hm. Hello.', 'You again.', 'Yes?'])
    : sulkyMoods.test(mood)
      ? random.pick(["I'm in no mood for this.", 'Make it quick.', 'What now?'])
      : brightMoods.test(mood)
        ? random.pick(['Ha! Go on, then.', 'Now that is a good question.', "I'm glad you asked me."])
        : random.pick(['Let me think.', 'Well.', 'Hm.']);

  let body: string;
  if (!subject || isGreeting) {
    body = trust > 0.3 ? `What do you need from me?` : `Say what you came to say.`;
  } else if (trust > 0.4) {
    body = isQuestion
      ? random.pick([`About ${subject}: I'll tell you what I know, because it's you. Start at ${place}, and don't go alone.`, `I trust you, so here it is. ${capitaliseFirst(subject)} is not what people think.`])
      : random.pick([`If you're set on ${subject}, I'll help where I can.`, `I hear you. ${capitaliseFirst(subject)} matters to me too.`]);
  } else if (trust < -0.2) {
    body = random.pick([`Why would I tell you anything about ${subject}?`, `${capitaliseFirst(subject)} is none of your business.`, `You want to talk about ${subject}? After what you did?`]);
  } else {
    body = isQuestion
      ? random.pick([`${capitaliseFirst(subject)}? I might know a thing or two. Might.`, `People who ask about ${subject} tend to find trouble. I'd be careful.`, `I've heard talk of ${subject}, but talk is cheap around ${place}.`])
      : random.pick([`${capitaliseFirst(subject)}, is it? I'll think on that.`, `Maybe. We'll see about ${subject}.`]);
  }

  const memory = character.memories?.[0];
  const recollection = memory && random.chance(0.6) ? ` I haven't forgotten, you know: ${memory.replace(/[.!?]*$/, '.')}` : '';
  return `${opener} ${body}${recollection}${personalityTouch(character.personality ?? '')}`.trim();
}
