import { api } from './api.js';
import { avatar } from './avatar.js';
import { el } from './dom.js';
import { expandMacros } from './macros.js';

function percent(value) {
  return value === null || value === undefined ? '—' : `${Math.round(value * 100)}%`;
}

let charactersRender = 0;

/**
 * The characters of a story: mood, trust, relationships, reflections and a talk box each (their thoughts
 * are shown once, with the scene they were had in). Renders overlap (a new scene): only the
 * newest fills the panel.
 */
export async function renderCharacters(panel, { storyId, readOnly, describeError }) {
  const render = ++charactersRender;
  const [{ characters }, story] = await Promise.all([
    api('GET', `/api/stories/${storyId}/characters`),
    api('GET', `/api/stories/${storyId}`).catch(() => null),
  ]);
  const user = story?.story?.playerName || 'you';
  if (render !== charactersRender) return;
  if (characters.length === 0) {
    panel.replaceChildren(el('p', { class: 'empty-state' }, 'Nobody has been met yet: the people of the story appear here as you meet them.'));
    return;
  }
  const details = await Promise.all(characters.map((c) => api('GET', `/api/characters/${c.id}`).catch(() => null)));
  if (render !== charactersRender) return;
  panel.replaceChildren(
    ...characters.map((character, index) => {
      const detail = details[index];
      const replies = el('div', { class: 'talk-replies' });
      const input = el('input', { class: 'talk-input', maxlength: 2000, placeholder: `Say something to ${character.name}`, 'aria-label': `Talk to ${character.name}` });
      const form = el(
        'form',
        { class: 'talk', onsubmit: (event) => talk(event, { character, input, replies, describeError }) },
        input,
        el('button', { type: 'submit', disabled: readOnly }, 'Talk'),
      );
      const relationships = (detail?.relationships ?? []).map((r) =>
        el('li', {}, `${r.targetCharacterId ? r.targetName : 'you'}: ${r.type}, trust ${percent(r.trust)}, feeling ${r.sentiment >= 0 ? '+' : ''}${r.sentiment.toFixed(2)}`),
      );
      // Conclusions the character drew from its memories; hovering shows what they rest on.
      const reflections = (detail?.reflections ?? []).slice(0, 3).map((r) =>
        el('li', { title: r.evidence.map((memory) => memory.content).join('\n') }, r.content),
      );
      return el(
        'section',
        { class: 'character', 'data-character-id': character.id },
        el('header', { class: 'character-head' }, avatar(character), el('h3', {}, character.name)),
        el('p', { class: 'mood' }, `Mood: ${character.mood || 'unknown'} · trusts you ${percent(character.playerTrust)}`),
        character.description ? el('p', { class: 'muted' }, expandMacros(character.description, { char: character.name, user })) : null,
        relationships.length ? el('ul', { class: 'relationships' }, ...relationships) : null,
        reflections.length ? el('ul', { class: 'reflections', 'aria-label': `${character.name}'s reflections` }, ...reflections) : null,
        form,
        replies,
      );
    }),
  );
}

async function talk(event, { character, input, replies, describeError }) {
  event.preventDefault();
  const message = input.value.trim();
  if (!message) return;
  input.disabled = true;
  replies.append(el('p', { class: 'said' }, `You: ${message}`));
  try {
    const result = await api('POST', `/api/characters/${character.id}/talk`, { message });
    replies.append(el('p', { class: 'reply' }, `${character.name}: ${result.reply}`));
    input.value = '';
  } catch (error) {
    replies.append(el('p', { class: 'error' }, describeError(error)));
  } finally {
    input.disabled = false;
  }
}
