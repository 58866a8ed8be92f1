import { api, streamTurn } from './api.js';
import { el } from './dom.js';
import { loadPreferences } from './preferences.js';
import { uploadFile } from './story-files.js';
import { deleteStoryAfterAsking } from './story-menu.js';

const $ = (id) => document.getElementById(id);

/** The home page: the reader's stories with their actions, a new story, an import. */
export function installHome({ describeError, pacedPath, openStoryAt }) {
  const notice = (text, kind = 'info') => {
    $('home-notice').textContent = text;
    $('home-notice').className = `notice ${kind}`;
    $('home-notice').hidden = !text;
  };

  async function loadStoryList() {
    try {
      const { stories } = await api('GET', '/api/stories');
      $('story-list').replaceChildren(...stories.map(storyRow));
      $('no-stories').hidden = stories.length > 0;
    } catch (error) {
      $('story-list').replaceChildren();
      notice(describeError(error), 'error');
    }
  }

  function storyRow(story) {
    const archived = story.status === 'archived';
    const scenes = `${story.sceneCount} scene${story.sceneCount === 1 ? '' : 's'}`;
    return el(
      'li',
      { class: archived ? 'story-row archived' : 'story-row', 'data-story-id': story.id },
      el('div', { class: 'story-row-main' }, el('a', { href: `#/story/${story.id}`, class: 'story-link' }, story.title), el('span', { class: 'muted' }, ` · ${scenes}`), archived ? el('span', { class: 'badge' }, 'archived') : null),
      el(
        'div',
        { class: 'story-row-actions' },
        el('button', { type: 'button', class: 'small secondary archive-toggle', onclick: () => setArchived(story, !archived) }, archived ? 'Unarchive' : 'Archive'),
        el('button', { type: 'button', class: 'small danger delete-story', onclick: () => deleteStory(story) }, 'Delete…'),
      ),
    );
  }

  async function setArchived(story, archived) {
    try {
      await api('PATCH', `/api/stories/${story.id}`, { status: archived ? 'archived' : 'active' });
      notice(archived ? `Archived “${story.title}”: it can be read and exported, not played.` : `“${story.title}” can be played again.`);
    } catch (error) {
      notice(describeError(error), 'error');
    }
    await loadStoryList();
  }

  async function deleteStory(story) {
    try {
      if (!(await deleteStoryAfterAsking(story.id, story.title))) return;
      notice(`Deleted “${story.title}”.`);
    } catch (error) {
      notice(describeError(error), 'error');
    }
    await loadStoryList();
  }

  async function createStory(event) {
    event.preventDefault();
    const form = $('new-story-form');
    const button = $('create-story');
    const stream = $('new-story-stream');
    button.disabled = true;
    stream.hidden = false;
    stream.className = 'prose streaming';
    stream.textContent = '';
    let text = '';
    try {
      const body = { title: $('new-title').value, setting: $('new-setting').value };
      if ($('new-instructions').value.trim()) body.instructions = $('new-instructions').value;
      const { playerName } = loadPreferences();
      if (playerName) body.playerName = playerName;
      const result = await streamTurn(pacedPath('/api/stories'), body, {
        onText: (chunk) => {
          text += chunk;
          stream.textContent = text;
        },
      });
      // The next new story starts from an empty form, not this one's title.
      form.reset();
      stream.hidden = true;
      openStoryAt(result.story.id);
    } catch (error) {
      stream.className = 'notice error';
      stream.textContent = describeError(error);
    } finally {
      button.disabled = false;
    }
  }

  async function importStory() {
    const input = $('import-file');
    const file = input.files?.[0];
    if (!file) return;
    notice(`Importing ${file.name}…`);
    try {
      const result = await uploadFile(`/api/import?filename=${encodeURIComponent(file.name)}`, file);
      input.value = '';
      notice(`Imported “${result.story.title}”.`);
      openStoryAt(result.story.id);
    } catch (error) {
      input.value = '';
      notice(`${file.name}: ${describeError(error)}`, 'error');
    }
  }

  /** A story opened by a character card (DESIGN §3): JSON cards go in the body, PNG and CHARX files to /api/cards. */
  async function createStoryFromCard(event) {
    event.preventDefault();
    const file = $('card-file').files?.[0];
    if (!file) return;
    const button = $('create-card-story');
    button.disabled = true;
    notice(`Reading ${file.name}…`);
    try {
      const isJson = /\.json$/i.test(file.name) || file.type === 'application/json';
      const playerName = $('card-player-name').value.trim() || loadPreferences().playerName;
      const named = playerName ? `?playerName=${encodeURIComponent(playerName)}` : '';
      const result = isJson
        ? await streamTurn(pacedPath('/api/stories'), { card: JSON.parse(await file.text()), ...(playerName ? { playerName } : {}) }, {})
        : await uploadFile(`/api/cards${named}`, file);
      $('card-story-form').reset();
      notice('');
      openStoryAt(result.story.id);
    } catch (error) {
      notice(`${file.name}: ${error instanceof SyntaxError ? 'this is not a JSON card.' : describeError(error)}`, 'error');
    } finally {
      button.disabled = false;
    }
  }

  const chooseSource = (source) => {
    $('new-story-form').hidden = source !== 'setting';
    $('card-story-form').hidden = source !== 'card';
    for (const [id, name] of [['source-setting', 'setting'], ['source-card', 'card']]) {
      $(id).classList.toggle('active', source === name);
      $(id).setAttribute('aria-selected', String(source === name));
    }
  };
  $('source-setting').addEventListener('click', () => chooseSource('setting'));
  $('source-card').addEventListener('click', () => chooseSource('card'));
  $('card-story-form').addEventListener('submit', createStoryFromCard);
  $('new-story-form').addEventListener('submit', createStory);
  $('import-file').addEventListener('change', importStory);
  $('import-form').addEventListener('submit', (event) => event.preventDefault());

  return {
    /** Shows the list afresh, with a word about what just happened (a story deleted elsewhere). */
    show(message = '') {
      $('new-story-stream').hidden = true;
      notice(message);
      return loadStoryList();
    },
  };
}
