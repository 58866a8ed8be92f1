import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import { describeParseProblem, parseSceneOutput } from '../../src/story/parse-scene.js';
import { characterNameKey, sanitizeCharacters } from '../../src/story/sanitize-characters.js';
import { sceneCharacterSchema, type SceneCharacter } from '../../src/story/scene-output.js';

const three = { choiceCount: 3 };

function parseError(text: string, choiceCount = 3): AppError {
  try {
    parseSceneOutput(text, { choiceCount });
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error('expected parseSceneOutput to throw');
}

describe('parseSceneOutput on prose answers', () => {
  it('reads a plain "1." list after a "What do you do?" heading, which is not part of the scene', () => {
    const text = `The fog rolls in thick over the harbour as you step off the gangplank. Somewhere out in the grey, a bell tolls — slow, deliberate, wrong. The dockhands stop working and look toward the water.

An old woman mending nets by the bollards catches your eye. "You'll be wanting the lighthouse keeper," she says, though you haven't said a word. "Nobody's seen him in three days."

What do you do?

1. Ask the old woman what happened to the lighthouse keeper
2. Head toward the lighthouse along the breakwater
3. Follow the sound of the bell to the end of the pier`;
    const result = parseSceneOutput(text, three);
    expect(result.choices).toEqual([
      'Ask the old woman what happened to the lighthouse keeper',
      'Head toward the lighthouse along the breakwater',
      'Follow the sound of the bell to the end of the pier',
    ]);
    expect(result.scene.startsWith('The fog rolls in thick')).toBe(true);
    expect(result.scene.endsWith('"Nobody\'s seen him in three days."')).toBe(true);
    expect(result.scene).not.toContain('What do you do?');
    expect(result.characters).toEqual([]);
  });

  it('reads "1)" items and drops the chatter after the list', () => {
    const text = `Sure! Here's the next scene:

You push open the tavern door. Warm air and the smell of spilled ale wash over you. Behind the bar, a broad man with a scar across his cheek — Brannoc, the sign says — polishes a tankard and pretends not to see you.

1) Order a drink and ask Brannoc about the missing ships
2) Sit in the corner and listen to the sailors
3) Show Brannoc the waterlogged ledger

Let me know what you choose!`;
    const result = parseSceneOutput(text, three);
    expect(result.choices).toEqual([
      'Order a drink and ask Brannoc about the missing ships',
      'Sit in the corner and listen to the sailors',
      'Show Brannoc the waterlogged ledger',
    ]);
    expect(result.scene.startsWith('You push open the tavern door.')).toBe(true);
    expect(result.scene).not.toContain('Sure!');
    expect(result.scene).not.toContain('Let me know');
  });

  it('reads bold "**1.**" numbers under a bold "**Options:**" heading', () => {
    const text = `The guard captain, Ilse Varn, blocks the stairway with her halberd. "No one goes up to the tower tonight," she says. "Orders from the steward."

Behind her, you hear something heavy being dragged across stone.

**Options:**

**1.** Bribe Ilse with the silver ring
**2.** Insist that you carry a message for the king
**3.** Slip around to the kitchens and find another way up`;
    const result = parseSceneOutput(text, three);
    expect(result.choices).toEqual([
      'Bribe Ilse with the silver ring',
      'Insist that you carry a message for the king',
      'Slip around to the kitchens and find another way up',
    ]);
    expect(result.scene).not.toContain('Options');
    expect(result.scene.endsWith('dragged across stone.')).toBe(true);
  });

  it('reads "**1)** text" items', () => {
    const text = `Rain hammers the tin roof of the noodle stand. Detective Okafor slides a photograph across the counter: a woman in a red coat, face turned away from the camera.

"She was the last one to see him alive," Okafor says.

**1)** Ask Okafor where the photograph was taken
**2)** Pocket the photograph and leave
**3)** Tell Okafor you recognise the coat`;
    const result = parseSceneOutput(text, three);
    expect(result.choices[0]).toBe('Ask Okafor where the photograph was taken');
    expect(result.choices[2]).toBe('Tell Okafor you recognise the coat');
  });

  it('reads "Choice 1:" items after a "Choices:" heading', () => {
    const text = `The airlock cycles with a hiss. Beyond it, the derelict's corridor stretches into darkness, emergency lights pulsing a slow amber. Your suit radio crackles: "Reading one life sign," says Teo from the shuttle. "Deck three. It's not moving."

Choices:
Choice 1: Head straight for deck three
Choice 2: Search the bridge for the ship's logs first
Choice 3: Tell Teo to prepare for an emergency undock`;
    const result = parseSceneOutput(text, three);
    expect(result.choices).toEqual([
      'Head straight for deck three',
      "Search the bridge for the ship's logs first",
      'Tell Teo to prepare for an emergency undock',
    ]);
    expect(result.scene).not.toContain('Choices');
  });

  it('reads "Option 1 -" items', () => {
    const text = `The caravan master, Samira, squints at the horizon. A brown wall of dust is rising in the west. "Two hours, maybe less," she says. "We can run for the ruins or dig in here."

Option 1 - Run for the ruined watchtower
Option 2 - Dig in and shelter behind the camels
Option 3 - Ride out alone to scout the storm's edge`;
    const result = parseSceneOutput(text, three);
    expect(result.choices).toEqual([
      'Run for the ruined watchtower',
      'Dig in and shelter behind the camels',
      "Ride out alone to scout the storm's edge",
    ]);
  });

  it('reads "- 1." items from a bulleted, numbered list', () => {
    const text = `You kneel by the stream. The tracks are fresh: a boot print, and beside it something with far too many toes.

- 1. Follow the tracks upstream
- 2. Call out to whoever made them
- 3. Go back to the woodcutters' clearing for help`;
    expect(parseSceneOutput(text, three).choices).toEqual([
      'Follow the tracks upstream',
      'Call out to whoever made them',
      "Go back to the woodcutters' clearing for help",
    ]);
  });

  it('joins a description line under a bold choice title to that choice', () => {
    const text = `## Scene 4: The Gate

The portcullis groans upward. Beyond it, the courtyard is empty except for a single riderless horse.

### What will you do?

**1. Approach the horse**
It might carry a message from the front.

**2. Climb to the battlements**
From up there you could see who is coming.

**3. Wait by the gate**
Whoever sent the horse may follow.

*Choose wisely — the night is long.*`;
    const result = parseSceneOutput(text, three);
    expect(result.choices).toEqual([
      'Approach the horse — It might carry a message from the front.',
      'Climb to the battlements — From up there you could see who is coming.',
      'Wait by the gate — Whoever sent the horse may follow.',
    ]);
    expect(result.scene).toBe(
      'The portcullis groans upward. Beyond it, the courtyard is empty except for a single riderless horse.',
    );
  });

  it('takes the last numbered list as the choices when the prose contains an earlier one', () => {
    const text = `The note in the bottle is a list, written in a shaking hand:
1. Do not light the lamp.
2. Do not answer the door.

You fold it away as the wind picks up.

1. Light the lamp anyway
2. Go down and check the door
3. Read the note again by moonlight`;
    const result = parseSceneOutput(text, three);
    expect(result.choices).toEqual(['Light the lamp anyway', 'Go down and check the door', 'Read the note again by moonlight']);
    expect(result.scene).toContain('1. Do not light the lamp.');
  });

  it('reads choices written inline on the last line', () => {
    const text = `The bridge sways under your weight. Halfway across, a plank snaps. What now? 1. Run for the far side 2. Crawl back the way you came 3. Grab the rope and hold still`;
    const result = parseSceneOutput(text, three);
    expect(result.choices).toEqual(['Run for the far side', 'Crawl back the way you came', 'Grab the rope and hold still']);
    expect(result.scene).toBe('The bridge sways under your weight. Halfway across, a plank snaps. What now?');
  });

  it('reads unnumbered bullets under a "What do you do?" heading', () => {
    const text = `Mara sets down her cup. "I'll help you," she says, "but not for free."

What do you do?
- Agree to her price
- Haggle
- Walk away`;
    expect(parseSceneOutput(text, three).choices).toEqual(['Agree to her price', 'Haggle', 'Walk away']);
  });
});

describe('parseSceneOutput on JSON answers', () => {
  it('reads a bare JSON object with scene, choices and characters', () => {
    const text = JSON.stringify({
      scene: 'You find Mara at the end of the pier, staring at the dark lighthouse.',
      choices: ['Ask Mara about the keeper', 'Walk to the lighthouse', 'Wait for the tide'],
      characters: [{ name: 'Mara', role: 'present', mood: 'anxious', importance: 0.7 }],
    });
    const result = parseSceneOutput(text, three);
    expect(result.scene).toBe('You find Mara at the end of the pier, staring at the dark lighthouse.');
    expect(result.choices).toHaveLength(3);
    expect(result.characters).toEqual([{ name: 'Mara', role: 'present', mood: 'anxious', importance: 0.7 }]);
  });

  it('reads JSON inside a ```json fence with chatter around it', () => {
    const text = `Here is the next scene in the requested format:

\`\`\`json
{
  "scene": "The steward's office smells of wax. Aldric Venn looks up from his ledgers, pen frozen mid-stroke.",
  "choices": [
    "Ask Aldric who signed the order",
    "Steal a glance at the ledger",
    "Leave before he calls the guard"
  ],
  "characters": [
    { "name": "Aldric Venn", "role": "present", "personality": "meticulous", "thought": "They know." }
  ]
}
\`\`\`

I hope this continues the story well!`;
    const result = parseSceneOutput(text, three);
    expect(result.scene.startsWith("The steward's office")).toBe(true);
    expect(result.choices[1]).toBe('Steal a glance at the ledger');
    expect(result.characters[0]?.name).toBe('Aldric Venn');
  });

  it('reads JSON after leading chatter without a fence', () => {
    const text = `Okay, continuing the story.
{"scene": "Snow blows off the ridge.", "choices": ["Climb", "Descend", "Make camp"], "characters": []}`;
    expect(parseSceneOutput(text, three).choices).toEqual(['Climb', 'Descend', 'Make camp']);
  });

  it('tolerates "story" and "options" keys and choices as {number, text} objects out of order', () => {
    const text = JSON.stringify({
      story: 'The engine room is flooded with red light.',
      options: [
        { number: 2, text: 'Vent the coolant' },
        { number: 1, content: 'Shut down the reactor' },
        { number: '3', text: 'Call the captain' },
      ],
    });
    const result = parseSceneOutput(text, three);
    expect(result.scene).toBe('The engine room is flooded with red light.');
    expect(result.choices).toEqual(['Shut down the reactor', 'Vent the coolant', 'Call the captain']);
    expect(result.characters).toEqual([]);
  });

  it('strips numbers that a model wrote into JSON choice strings', () => {
    const text = JSON.stringify({
      text: 'A knock at the door.',
      choices: ['1. Open it', '2) Hide', '**3.** Ask who is there'],
      characters: [],
    });
    expect(parseSceneOutput(text, three).choices).toEqual(['Open it', 'Hide', 'Ask who is there']);
  });

  it('reads choices given as a map of string numbers', () => {
    const text = '{"scene": "The road forks.", "choices": {"2": "Take the left road", "1": "Take the right road", "3": "Camp here"}}';
    expect(parseSceneOutput(text, three).choices).toEqual(['Take the right road', 'Take the left road', 'Camp here']);
  });

  it('repairs trailing commas, the commonest slip of small models', () => {
    const text = '{"scene": "Dawn.", "choices": ["Wake", "Sleep", "Leave",], "characters": [],}';
    expect(parseSceneOutput(text, three).choices).toEqual(['Wake', 'Sleep', 'Leave']);
  });

  it('falls back to the numbered list inside the scene text when the JSON has no choices', () => {
    const text = JSON.stringify({ scene: 'The gate is shut.\n\n1. Knock\n2. Climb the wall\n3. Turn back' });
    const result = parseSceneOutput(text, three);
    expect(result.scene).toBe('The gate is shut.');
    expect(result.choices).toEqual(['Knock', 'Climb the wall', 'Turn back']);
  });

  it('keeps braces in prose from being mistaken for JSON', () => {
    const text = `The sign over the door reads {CLOSED}, but the lamp inside is lit.

1. Knock anyway
2. Peer through the window
3. Leave`;
    expect(parseSceneOutput(text, three).scene).toContain('{CLOSED}');
  });

  it('cleans bad characters in JSON output without failing the scene', () => {
    const text = JSON.stringify({
      scene: 'A crowd gathers.',
      choices: ['Push through', 'Wait', 'Shout'],
      characters: [{ name: 'he' }, { name: 'Mara', importance: 7 }, { name: 'MARA ' }, 42],
    });
    expect(parseSceneOutput(text, three).characters).toEqual([{ name: 'Mara', importance: 1 }]);
  });
});

describe('parseSceneOutput failures', () => {
  it('refuses four choices when three are expected, saying how many it found', () => {
    const error = parseError(`You stand at the crossroads.

1. Go north
2. Go south
3. Go east
4. Go west`);
    expect(error.code).toBe('llm_bad_output');
    expect(error.details).toMatchObject({ reason: 'choice_count', found: 4, expected: 3 });
  });

  it('refuses two choices when three are expected', () => {
    const error = parseError(JSON.stringify({ scene: 'Night falls.', choices: ['Sleep', 'Keep watch'] }));
    expect(error.details).toMatchObject({ reason: 'choice_count', found: 2 });
  });

  it('accepts a different configured choice count', () => {
    const text = 'The door.\n\n1. Open\n2. Knock\n3. Leave\n4. Wait';
    expect(parseSceneOutput(text, { choiceCount: 4 }).choices).toHaveLength(4);
  });

  it('refuses prose without any choices instead of returning a scene without them', () => {
    expect(parseError('You walk on into the night, and nothing happens.').details).toMatchObject({ reason: 'no_choices', found: 0 });
  });

  it('refuses an empty answer', () => {
    expect(parseError('   \n  ').details).toMatchObject({ reason: 'empty_output' });
  });

  it('refuses choices without a scene', () => {
    expect(parseError('1. Run\n2. Hide\n3. Fight').details).toMatchObject({ reason: 'empty_scene' });
  });

  it('refuses truncated JSON as invalid JSON rather than reading it as prose', () => {
    expect(parseError('{"scene": "The storm breaks over the', 3).details).toMatchObject({ reason: 'invalid_json' });
    expect(parseError('```json\n{"scene": "x", "choices": ["a", "b", \n```').details).toMatchObject({ reason: 'invalid_json' });
  });

  it('refuses duplicate choices', () => {
    expect(parseError('Rain.\n\n1. Wait\n2. wait\n3. Run').details).toMatchObject({ reason: 'duplicate_choices' });
  });
});

describe('describeParseProblem', () => {
  it('tells the model how many choices it gave and how many are wanted', () => {
    const error = parseError('Fog.\n\n1. A\n2. B\n3. C\n4. D');
    expect(describeParseProblem(error)).toBe('You gave 4 choices; give exactly 3 choices, no more and no fewer.');
  });

  it('has a specific sentence for each kind of problem', () => {
    const sentences = new Set(
      ['', 'No choices at all.', '1. a\n2. b\n3. c', '{"scene": "', 'X.\n\n1. a\n2. a\n3. b'].map((text) => describeParseProblem(parseError(text))),
    );
    expect(sentences.size).toBe(5);
  });

  it('gives a generic sentence for errors that are not parse problems', () => {
    expect(describeParseProblem(new Error('boom'))).toContain('JSON object');
  });
});

describe('sanitizeCharacters', () => {
  function sanitizeWithLog(raw: unknown): { characters: SceneCharacter[]; messages: string[] } {
    const messages: string[] = [];
    const characters = sanitizeCharacters(raw, (message) => messages.push(message));
    return { characters, messages };
  }

  it('drops pronouns and generic references, reporting each one', () => {
    const generic = ['he', 'She', 'they', 'You', 'I', 'the guard', 'The Innkeeper', 'a woman', 'An old sailor', 'someone', 'Narrator', 'player'];
    const { characters, messages } = sanitizeWithLog([...generic.map((name) => ({ name })), { name: 'The Pale King' }, { name: 'Mara' }]);
    expect(characters.map((character) => character.name)).toEqual(['The Pale King', 'Mara']);
    expect(messages).toHaveLength(generic.length);
  });

  it('drops empty names, names without letters and names over 100 characters, including a 100 KB one', () => {
    const { characters, messages } = sanitizeWithLog([
      { name: '' },
      { name: '   ' },
      { name: '***' },
      { name: '12345' },
      { name: 'x'.repeat(101) },
      { name: 'y'.repeat(100_000) },
      { name: 42 },
      { description: 'no name at all' },
      null,
      'Tobias',
    ]);
    expect(characters).toEqual([{ name: 'Tobias' }]);
    expect(messages).toHaveLength(9);
  });

  it('keeps only the first 20 of 500 characters', () => {
    const raw = Array.from({ length: 500 }, (_, index) => ({ name: `Person ${String.fromCharCode(65 + (index % 26))}${index}` }));
    const { characters, messages } = sanitizeWithLog(raw);
    expect(characters).toHaveLength(20);
    expect(characters[0]?.name).toBe('Person A0');
    expect(messages.some((message) => message.includes('limit'))).toBe(true);
  });

  it('treats names that differ in case, inner spacing or surrounding punctuation as one person', () => {
    const { characters } = sanitizeWithLog([{ name: 'Mara  Quill' }, { name: 'mara quill' }, { name: '"Mara Quill!"' }, { name: '**MARA QUILL**' }]);
    expect(characters).toEqual([{ name: 'Mara Quill' }]);
    expect(characterNameKey('  "Mara   Quill!" ')).toBe('mara quill');
  });

  it('clamps numbers into range and drops fields of the wrong type', () => {
    const { characters } = sanitizeWithLog([
      {
        name: 'Idris',
        role: 'villain',
        importance: '0.9',
        mood: 12,
        emotion: { valence: -3, arousal: 'high', dominance: 0.5 },
        description: ['not', 'a', 'string'],
        relationships: [
          { target: 'you', trustDelta: 5, sentimentDelta: -9, type: 'rival'.repeat(20) },
          { target: 'he', trustDelta: 0.1 },
          { trustDelta: 0.1 },
          { target: 'Mara', familiarityDelta: 'NaN' },
        ],
      },
    ]);
    expect(characters).toEqual([
      {
        name: 'Idris',
        importance: 0.9,
        emotion: { valence: -1, dominance: 0.5 },
        relationships: [
          { target: 'player', trustDelta: 1, sentimentDelta: -1, type: 'rival'.repeat(10) },
          { target: 'Mara' },
        ],
      },
    ]);
    expect(() => sceneCharacterSchema.array().parse(characters)).not.toThrow();
  });

  it('accepts a bare list of names and ignores a characters field that is not a list', () => {
    expect(sanitizeCharacters(['Wren', 'Bram'])).toEqual([{ name: 'Wren' }, { name: 'Bram' }]);
    const { characters, messages } = sanitizeWithLog({ name: 'Wren' });
    expect(characters).toEqual([]);
    expect(messages).toHaveLength(1);
    expect(sanitizeCharacters(undefined)).toEqual([]);
  });
});
