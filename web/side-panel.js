import { api } from './api.js';
import { renderCharacters } from './characters-panel.js';
import { el } from './dom.js';
import { renderLoreEditor } from './lore-editor.js';
import { renderRelationshipPanel } from './relationship-graph.js';
import { drawStoryMap } from './story-map.js';
import { renderPromptView } from './prompt-view.js';

export const tabs = ['characters', 'map', 'graph', 'lore'];
const $ = (id) => document.getElementById(id);

/** Empties every tab, so that nothing of the story shown before stays on screen. */
export function clearSidePanel() {
  for (const name of tabs) $(`${name}-panel`).replaceChildren();
}

/**
 * Shows one tab of the side panel for the open story. `onMapPick(scene, onHeadPath)` runs
 * when a scene on the map is clicked.
 */
export async function showSideTab(tab, { storyId, readOnly, describeError, onMapPick }) {
  for (const button of document.querySelectorAll('.tabs button')) {
    button.classList.toggle('active', button.dataset.tab === tab);
    button.setAttribute('aria-selected', String(button.dataset.tab === tab));
  }
  for (const name of tabs) $(`${name}-panel`).hidden = name !== tab;
  const panel = $(`${tab}-panel`);
  if (!panel.firstChild) panel.replaceChildren(el('p', { class: 'hint' }, 'Loading…'));
  try {
    if (tab === 'characters') await renderCharacters(panel, { storyId, readOnly, describeError });
    if (tab === 'map') {
      const tree = await api('GET', `/api/stories/${storyId}/scenes`);
      const scroller = el('div', { class: 'map-scroll' }, drawStoryMap(tree, (scene) => onMapPick(scene, scene.onHeadPath)));
      panel.replaceChildren(el('p', { class: 'hint' }, 'Every scene ever written; the path you are on is highlighted. Click one to read it and continue from there.'), scroller, renderPromptView(storyId, tree, describeError));
      // The head is what the reader looks for first: bring it into view in a wide map.
      const head = scroller.querySelector('.map-node.head circle');
      if (head) scroller.scrollLeft = Math.max(0, Number(head.getAttribute('cx')) - scroller.clientWidth + 40);
    }
    if (tab === 'graph') renderRelationshipPanel(panel, await api('GET', `/api/stories/${storyId}/relationships`));
    if (tab === 'lore') await renderLoreEditor(panel, { storyId, readOnly, describeError });
  } catch (error) {
    panel.replaceChildren(el('p', { class: 'error' }, describeError(error)));
  }
}
