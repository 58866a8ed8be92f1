import { api } from './api.js';
import { confirmAction } from './confirm.js';
import { el } from './dom.js';
import { downloadFile, uploadFile } from './story-files.js';

const keywordList = (text) => text.split(',').map((k) => k.trim()).filter(Boolean);

function entryFields(entry = {}) {
  return {
    title: el('input', { name: 'title', maxlength: 200, required: true, value: entry.title ?? '', 'aria-label': 'Title' }),
    keywords: el('input', { name: 'keywords', maxlength: 2000, value: (entry.keywords ?? []).join(', '), placeholder: 'lighthouse, keeper, lamp', 'aria-label': 'Keywords' }),
    content: el('textarea', { name: 'content', maxlength: 8000, rows: 4, required: true, 'aria-label': 'Content' }, entry.content ?? ''),
    enabled: el('input', { name: 'enabled', type: 'checkbox', checked: entry.enabled ?? true }),
  };
}

function fieldRows(fields) {
  return [
    el('label', {}, 'Title', fields.title),
    el('label', {}, 'Keywords (comma-separated: the entry is used when the story mentions one)', fields.keywords),
    el('label', {}, 'What the storyteller should know', fields.content),
    el('label', { class: 'toggle' }, fields.enabled, ' In use'),
  ];
}

const valuesOf = (fields) => ({ title: fields.title.value, keywords: keywordList(fields.keywords.value), content: fields.content.value, enabled: fields.enabled.checked });

/** The story's lore (world info): read by everyone who may read it, edited by its players. */
export async function renderLoreEditor(panel, { storyId, readOnly, describeError }) {
  const { entries } = await api('GET', `/api/stories/${storyId}/lore`);
  const rerender = () => renderLoreEditor(panel, { storyId, readOnly, describeError }).catch((error) => panel.replaceChildren(el('p', { class: 'error' }, describeError(error))));
  const problem = el('p', { class: 'error', role: 'alert', hidden: true });
  const fail = (error) => {
    problem.textContent = describeError(error);
    problem.hidden = false;
  };

  const items = entries.map((entry) => {
    const fields = entryFields(entry);
    const save = async (event) => {
      event.preventDefault();
      try {
        await api('PATCH', `/api/stories/${storyId}/lore/${entry.id}`, valuesOf(fields), { 'if-match': `"${entry.version}"` });
        await rerender();
      } catch (error) {
        fail(error);
      }
    };
    const remove = async () => {
      if (!(await confirmAction(`Delete the lore entry “${entry.title}”?`, 'Delete entry'))) return;
      try {
        await api('DELETE', `/api/stories/${storyId}/lore/${entry.id}`);
        await rerender();
      } catch (error) {
        fail(error);
      }
    };
    return el(
      'details',
      { class: entry.enabled ? 'lore-entry' : 'lore-entry disabled', 'data-entry-id': entry.id },
      el('summary', {}, el('span', { class: 'lore-title' }, entry.title), entry.keywords.length ? el('span', { class: 'lore-keywords' }, entry.keywords.join(', ')) : null, entry.enabled ? null : el('span', { class: 'badge' }, 'not in use')),
      readOnly
        ? el('p', { class: 'lore-content' }, entry.content)
        : el('form', { class: 'lore-form', onsubmit: save }, ...fieldRows(fields), el('div', { class: 'menu-row' }, el('button', { type: 'submit' }, 'Save'), el('button', { type: 'button', class: 'danger lore-delete', onclick: remove }, 'Delete'))),
    );
  });

  const create = () => {
    const fields = entryFields();
    return el(
      'details',
      { class: 'lore-new' },
      el('summary', {}, 'Add a lore entry'),
      el(
        'form',
        {
          class: 'lore-form',
          onsubmit: async (event) => {
            event.preventDefault();
            try {
              await api('POST', `/api/stories/${storyId}/lore`, valuesOf(fields));
              await rerender();
            } catch (error) {
              fail(error);
            }
          },
        },
        ...fieldRows(fields),
        el('div', { class: 'menu-row' }, el('button', { type: 'submit' }, 'Add entry')),
      ),
    );
  };

  // SillyTavern World Info in and out, so that a lorebook can come from (and go back to) other tools.
  const bookFile = el('input', { type: 'file', accept: '.json', class: 'lore-import-file', 'aria-label': 'Import a World Info file' });
  bookFile.addEventListener('change', async () => {
    const file = bookFile.files?.[0];
    if (!file) return;
    try {
      await uploadFile(`/api/stories/${storyId}/lore/import`, file);
      await rerender();
    } catch (error) {
      bookFile.value = '';
      fail(error);
    }
  });
  const exportBook = () => downloadFile(`/api/stories/${storyId}/lore/export`, 'lorebook.json').catch(fail);
  const worldInfo = el(
    'div',
    { class: 'menu-row lore-files' },
    el('button', { type: 'button', class: 'small secondary lore-export', onclick: exportBook, disabled: entries.length === 0 }, 'Export World Info'),
    readOnly ? null : el('label', { class: 'small-file' }, 'Import World Info ', bookFile),
  );

  panel.replaceChildren(
    el('p', { class: 'hint' }, 'Lore is what the storyteller should know about this world: places, customs, history. An entry is given to it when the story mentions one of its keywords.'),
    problem,
    readOnly ? null : create(),
    items.length ? el('div', { class: 'lore-list' }, ...items) : el('p', { class: 'empty-state' }, 'No lore yet.'),
    worldInfo,
  );
}
