import { z } from 'zod';
import type { StoryFactChange } from '../world/story-facts.js';

/**
 * What one model call for a turn produces: the scene, its choices, and the characters in it
 * with their reactions. The JSON schema below is sent to providers that support structured
 * output; `parseSceneOutput` accepts the same content written as prose too.
 */
export const relationshipChangeSchema = z.object({
  /** Another character's name, or "player". */
  target: z.string(),
  sentimentDelta: z.number().min(-1).max(1).optional(),
  trustDelta: z.number().min(-1).max(1).optional(),
  familiarityDelta: z.number().min(-1).max(1).optional(),
  type: z.string().max(50).optional(),
});

export const sceneCharacterSchema = z.object({
  name: z.string(),
  role: z.enum(['present', 'mentioned']).optional(),
  importance: z.number().min(0).max(1).optional(),
  description: z.string().optional(),
  personality: z.string().optional(),
  goals: z.string().optional(),
  mood: z.string().optional(),
  emotion: z
    .object({ valence: z.number().min(-1).max(1), arousal: z.number().min(-1).max(1), dominance: z.number().min(-1).max(1) })
    .partial()
    .optional(),
  /** Private thought, shown only when the player turns thoughts on. */
  thought: z.string().optional(),
  /** Something the character does on its own initiative. */
  action: z.string().optional(),
  /** How the character reacts to the player's choice. */
  reaction: z.string().optional(),
  relationships: z.array(relationshipChangeSchema).optional(),
});

export type SceneCharacter = z.infer<typeof sceneCharacterSchema>;
export type RelationshipChange = z.infer<typeof relationshipChangeSchema>;

export interface SceneOutput {
  /** The scene's prose, without the choices. */
  scene: string;
  /** Choice texts, in order (choice 1 first). */
  choices: string[];
  characters: SceneCharacter[];
  /** What became true (or stopped being true) in this scene; an answer may report none. */
  facts?: StoryFactChange[];
}

export const sceneJsonSchema = {
  name: 'livingworld_scene',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['scene', 'choices', 'characters'],
    properties: {
      scene: { type: 'string', description: 'The scene prose in second person, without the choices.' },
      choices: { type: 'array', items: { type: 'string' }, minItems: 3, maxItems: 3 },
      characters: {
        type: 'array',
        items: {
          type: 'object',
          required: ['name'],
          properties: {
            name: { type: 'string' },
            role: { type: 'string', enum: ['present', 'mentioned'] },
            importance: { type: 'number', minimum: 0, maximum: 1 },
            description: { type: 'string' },
            personality: { type: 'string' },
            goals: { type: 'string' },
            mood: { type: 'string' },
            emotion: {
              type: 'object',
              properties: { valence: { type: 'number' }, arousal: { type: 'number' }, dominance: { type: 'number' } },
            },
            thought: { type: 'string' },
            action: { type: 'string' },
            reaction: { type: 'string' },
            relationships: {
              type: 'array',
              items: {
                type: 'object',
                required: ['target'],
                properties: {
                  target: { type: 'string' },
                  sentimentDelta: { type: 'number' },
                  trustDelta: { type: 'number' },
                  familiarityDelta: { type: 'number' },
                  type: { type: 'string' },
                },
              },
            },
          },
        },
      },
      facts: {
        type: 'array',
        description: 'What became true or stopped being true in this scene: possessions, injuries, promises, places discovered, open questions.',
        items: {
          type: 'object',
          required: ['type', 'subject', 'text'],
          properties: {
            type: { type: 'string', enum: ['possession', 'injury', 'promise', 'place', 'question'] },
            subject: { type: 'string', description: 'What the fact is about, named the same way each time (e.g. "the silver key").' },
            text: { type: 'string', description: 'The fact in one sentence.' },
            status: { type: 'string', enum: ['added', 'resolved'] },
          },
        },
      },
    },
  },
} as const;
