import { z } from 'zod';

/**
 * The shapes of the API's JSON answers, for the OpenAPI document. Objects are open (loose):
 * a client must accept fields added later; the fields listed are always there.
 */

const id = z.string().describe('a UUID');
const timestamp = z.string().describe('ISO 8601 date and time');

export const storyShape = z
  .looseObject({
    id,
    title: z.string(),
    setting: z.string(),
    instructions: z.string().nullable(),
    playerName: z.string().nullable(),
    status: z.enum(['active', 'archived']),
    headSceneId: id.nullable(),
    version: z.number().int().describe('goes up by one whenever the head moves'),
    createdAt: timestamp,
    updatedAt: timestamp,
    sceneCount: z.number().int().optional(),
    headSceneNumber: z.number().int().nullable().optional(),
  })
;

export const choiceShape = z.looseObject({ number: z.number().int(), content: z.string(), selected: z.boolean() });

export const sceneShape = z
  .looseObject({
    id,
    storyId: id,
    parentSceneId: id.nullable(),
    sceneNumber: z.number().int(),
    choiceNumber: z.number().int().nullable(),
    instruction: z.string().nullable(),
    content: z.string(),
    choices: z.array(choiceShape),
    provider: z.string().nullable(),
    model: z.string().nullable(),
    offline: z.boolean().describe('written by the offline storyteller'),
    characters: z.array(z.looseObject({ id, name: z.string(), role: z.string(), importance: z.number() })),
    createdAt: timestamp,
  })
;

const thoughtShape = z.looseObject({ characterId: id, name: z.string(), content: z.string() });

export const storyWithSceneShape = z.looseObject({
  story: storyShape,
  scene: sceneShape.nullable(),
  role: z.enum(['reader', 'player', 'owner']),
  thoughts: z.array(thoughtShape).optional().describe('with ?thoughts=1'),
});

export const openedStoryShape = z.looseObject({ story: storyShape, scene: sceneShape });

export const cardStoryShape = openedStoryShape.extend({
  characterId: id.describe("the card's character"),
  loreEntryIds: z.array(id).describe("lore entries made from the card's book"),
  warnings: z.array(z.string()),
});

export const turnShape = z.looseObject({
  scene: sceneShape,
  turnId: id,
  how: z.string().describe('generated, or how an earlier answer was found (a repeated key, a turn already taken)'),
});

export const headMovedShape = z.looseObject({ scene: sceneShape, version: z.number().int() });

export const sceneTreeShape = z.looseObject({
  headSceneId: id.nullable(),
  version: z.number().int(),
  scenes: z.array(
    z.looseObject({
      id,
      parentSceneId: id.nullable(),
      sceneNumber: z.number().int(),
      choiceNumber: z.number().int().nullable(),
      instruction: z.string().nullable(),
      excerpt: z.string(),
      onHeadPath: z.boolean(),
      createdAt: timestamp,
      content: z.string().optional().describe('with ?content=1'),
      choices: z.array(choiceShape).optional().describe('with ?content=1'),
    }),
  ),
});

export const scenePromptShape = z.looseObject({
  prompt: z.looseObject({
    provider: z.string(),
    model: z.string(),
    messages: z.array(z.looseObject({ role: z.string(), content: z.string() })).describe('exactly as sent'),
    contextWindow: z.number().int().nullable(),
    promptTokens: z.number().int(),
    sections: z.record(z.string(), z.number()).describe('tokens per prompt section'),
  }),
});

const characterShape = z
  .looseObject({
    id,
    storyId: id,
    name: z.string(),
    description: z.string(),
    personality: z.string(),
    goals: z.string(),
    background: z.string(),
    mood: z.string(),
    version: z.number().int(),
    met: z.boolean().optional(),
    atSceneId: id.nullable().optional(),
  })
;

export const characterListShape = z.looseObject({
  atSceneId: id.nullable(),
  characters: z.array(
    characterShape.extend({
      playerTrust: z.number().nullable(),
      playerSentiment: z.number().nullable(),
      avatarUrl: z.string().optional().describe("where the character's picture is, when it has one"),
      thoughts: z.array(z.string()).optional(),
    }),
  ),
});

export const characterDetailShape = z.looseObject({
  character: characterShape,
  relationships: z.array(z.looseObject({})),
  memories: z.array(z.looseObject({})),
});

export const characterEditedShape = z.looseObject({ character: characterShape });

export const talkShape = z.looseObject({ reply: z.string(), character: z.looseObject({ id, name: z.string() }) });

export const relationshipGraphShape = z.looseObject({
  atSceneId: id.nullable(),
  nodes: z.array(z.looseObject({ id, name: z.string(), mood: z.string(), met: z.boolean() })),
  edges: z.array(
    z.looseObject({
      from: id,
      to: id.nullable().describe('null: the player'),
      sentiment: z.number(),
      trust: z.number(),
      familiarity: z.number(),
      type: z.string(),
      interactionCount: z.number().int(),
    }),
  ),
});

const memberShape = z.looseObject({ user: z.string(), role: z.enum(['reader', 'player', 'owner']) });
export const membersShape = z.looseObject({ members: z.array(memberShape) });
export const memberAddedShape = z.looseObject({ member: memberShape });

const loreEntryShape = z
  .looseObject({ id, storyId: id, title: z.string(), keywords: z.array(z.string()), content: z.string(), enabled: z.boolean(), version: z.number().int() })
;
export const loreListShape = z.looseObject({ entries: z.array(loreEntryShape) });
export const loreEntryAnswerShape = z.looseObject({ entry: loreEntryShape });
export const loreImportShape = z.looseObject({ storyId: id, format: z.string(), loreEntryIds: z.array(id), notes: z.array(z.unknown()) });

export const storyImportShape = z.looseObject({
  storyId: id,
  format: z.string(),
  notCarriedOver: z.array(z.string()),
  repairs: z.array(z.unknown()),
  copyOf: z.looseObject({ storyId: id, title: z.string() }).optional(),
  story: z.looseObject({ id, title: z.string(), headSceneId: id.nullable() }),
});

export const infoShape = z.looseObject({
  provider: z.string(),
  offline: z.boolean(),
  notice: z.string().nullable(),
  user: z.looseObject({ name: z.string() }),
  auth: z.boolean().describe('whether requests need a token'),
});

export const statusShape = z.looseObject({ status: z.string(), pending: z.array(z.string()).optional() });
