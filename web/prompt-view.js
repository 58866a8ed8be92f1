import { api } from './api.js';
import { el } from './dom.js';

/**
 * "What the model was sent" for any scene of the tree: the window, num_ctx or the answer
 * allowance, tokens per section and every message as sent (GET …/scenes/:sceneId/prompt).
 */
export function renderPromptView(storyId, tree, describeError) {
  const output = el('div', { class: 'prompt-view-body' });
  const select = el(
    'select',
    { 'aria-label': 'Scene', onchange: () => show(select.value) },
    ...tree.scenes.map((scene) => el('option', { value: scene.id, selected: scene.id === tree.headSceneId }, `Scene ${scene.sceneNumber}: ${scene.excerpt.slice(0, 60)}`)),
  );
  async function show(sceneId) {
    output.replaceChildren(el('p', { class: 'muted' }, 'Loading…'));
    try {
      const { prompt } = await api('GET', `/api/stories/${storyId}/scenes/${sceneId}/prompt`);
      const limits = [
        `${prompt.provider} ${prompt.model}`,
        prompt.contextWindow && `window ${prompt.contextWindow}`,
        prompt.numCtx && `num_ctx ${prompt.numCtx}`,
        prompt.maxTokens && `answer ≤ ${prompt.maxTokens}`,
        `prompt ${prompt.promptTokens} tokens (${prompt.tokenizer})`,
      ].filter(Boolean);
      output.replaceChildren(
        el('p', {}, limits.join(' · ')),
        el('table', { class: 'prompt-sections' }, ...Object.entries(prompt.sections).map(([name, tokens]) => el('tr', {}, el('td', {}, name), el('td', {}, String(tokens))))),
        ...prompt.messages.map((message) => el('details', {}, el('summary', {}, message.role), el('pre', { class: 'prompt-message' }, message.content))),
      );
    } catch (error) {
      output.replaceChildren(el('p', { class: 'error' }, describeError(error)));
    }
  }
  if (tree.headSceneId) void show(tree.headSceneId);
  return el('details', { class: 'prompt-view' }, el('summary', {}, 'What the model was sent'), select, output);
}
