import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { getSceneTree, getStory } from '../../story/story-repo.js';
import { getScenePrompt } from '../../story/scene-prompt-repo.js';
import { authorizeStory } from '../auth.js';
import { parseInput } from '../parse-input.js';
import type { ServerContext } from '../server-context.js';
import { idParams } from './route-inputs.js';
import { describeRoute } from '../api-docs/describe-route.js';
import { scenePromptShape, sceneTreeShape } from '../api-docs/answer-shapes.js';

const scenePromptParams = idParams.extend({ sceneId: z.string().max(100, 'the scene id is too long') });
const treeQuery = z.object({ content: z.enum(['0', '1'], { error: 'content must be 1 or 0' }).optional() });
const excerptLength = 160;

const docs = {
  tree: describeRoute({
    summary: 'The scene tree: every branch ever written, the head path marked',
    tags: ['scenes'],
    params: idParams,
    query: treeQuery,
    answers: { 200: { description: 'Scenes in the order they were written', shape: sceneTreeShape } },
    errors: ['not_found'],
  }),
  prompt: describeRoute({
    summary: 'Exactly what the model was sent for a scene, with the window, answer allowance and tokens per section',
    tags: ['scenes'],
    params: scenePromptParams,
    answers: { 200: { description: 'The recorded request', shape: scenePromptShape } },
    errors: ['not_found'],
  }),
};

export function registerSceneRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { db } = ctx.runtime;

  /** The scene tree: every branch ever written, the head path marked; `?content=1` adds prose and choices. */
  app.get('/api/stories/:id/scenes', { schema: docs.tree }, async (request) => {
    const { id } = parseInput(idParams, request.params, 'params');
    const query = parseInput(treeQuery, request.query, 'query');
    await authorizeStory(db, request.user, id, 'read');
    const story = await getStory(db, id);
    const scenes = await getSceneTree(db, id);
    const parentOf = new Map(scenes.map((scene) => [scene.id, scene.parentSceneId]));
    const headPath = new Set<string>();
    for (let at = story.headSceneId; at; at = parentOf.get(at) ?? null) headPath.add(at);
    return {
      headSceneId: story.headSceneId,
      version: story.version,
      scenes: scenes.map((scene) => ({
        id: scene.id,
        parentSceneId: scene.parentSceneId,
        sceneNumber: scene.sceneNumber,
        choiceNumber: scene.choiceNumber,
        instruction: scene.instruction,
        excerpt: scene.content.length > excerptLength ? `${scene.content.slice(0, excerptLength - 1)}…` : scene.content,
        onHeadPath: headPath.has(scene.id),
        createdAt: scene.createdAt.toISOString(),
        ...(query.content === '1' ? { content: scene.content, choices: scene.choices } : {}),
      })),
    };
  });

  /** Exactly what the model was sent for one scene, with the window, num_ctx or max_tokens, and tokens per section. */
  app.get('/api/stories/:id/scenes/:sceneId/prompt', { schema: docs.prompt }, async (request) => {
    const { id, sceneId } = parseInput(scenePromptParams, request.params, 'params');
    await authorizeStory(db, request.user, id, 'read');
    return { prompt: await getScenePrompt(db, id, sceneId) };
  });
}
