import { api } from './api.js';
import { confirmAction } from './confirm.js';
import { el } from './dom.js';
import { downloadFile } from './story-files.js';

const $ = (id) => document.getElementById(id);

/** Asks, then deletes the story; resolves false when the reader thought better of it. */
export async function deleteStoryAfterAsking(storyId, title) {
  if (!(await confirmAction(`Delete “${title}” with all its scenes, characters and lore? This cannot be undone.`, 'Delete story'))) return false;
  await api('DELETE', `/api/stories/${storyId}`);
  return true;
}

export async function loadMembers(storyId) {
  const { members } = await api('GET', `/api/stories/${storyId}/members`);
  $('members').replaceChildren(...members.map((m) => el('li', {}, `${m.user} · ${m.role}`)));
}

/**
 * The open story's menu (export, archive, delete) and its share box. `current()` names the
 * story shown; `reload()` shows it afresh after a change.
 */
export function installStoryMenu({ current, reload, showNotice, goHome, describeError }) {
  const act = (action) => async () => {
    $('story-menu').open = false;
    try {
      await action(current());
    } catch (error) {
      showNotice(describeError(error), 'error');
    }
  };

  for (const button of document.querySelectorAll('[data-export]')) {
    const format = button.dataset.export;
    button.addEventListener(
      'click',
      act(async ({ storyId }) => {
        const name = await downloadFile(`/api/stories/${storyId}/export?format=${format}`, `story.${format}`);
        showNotice(`Exported as ${name}.`);
      }),
    );
  }

  $('archive-story').addEventListener(
    'click',
    act(async ({ storyId, story }) => {
      const archive = story?.status !== 'archived';
      await api('PATCH', `/api/stories/${storyId}`, { status: archive ? 'archived' : 'active' });
      await reload();
      if (!archive) showNotice('The story can be played again.');
    }),
  );

  $('delete-story').addEventListener(
    'click',
    act(async ({ storyId, story }) => {
      const title = story?.title ?? 'this story';
      if (await deleteStoryAfterAsking(storyId, title)) goHome(`Deleted “${title}”.`);
    }),
  );

  $('share-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const { storyId } = current();
    try {
      await api('POST', `/api/stories/${storyId}/members`, { user: $('share-user').value.trim(), role: $('share-role').value });
      $('share-user').value = '';
      await loadMembers(storyId);
      showNotice('');
    } catch (error) {
      showNotice(describeError(error), 'error');
    }
  });
}
