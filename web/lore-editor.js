import { api } from './api.js';
import { confirmAction } from './confirm.js';
import { el } from './dom.js';
import { downloadFile, uploadFile } from './story-files.js';

const keywordList = (text) => text.split(',').map((k) => k.trim()).filter(Boolean);

// Where an entry goes in the scene prompt, and how it is activated: SillyTavern World Info's options.
const positions = [
  ['before_characters', 'Before the characters'],
  ['after_characters', 'After the characters'],
  ['author_note_top', "At the top of the author's instructions"],
  ['author_note_bottom', "At the bottom of the author's instructions"],
  ['at_depth', 'Among the recent scenes, at a depth'],
  ['examples_top', 'Before the example dialogue'],
  ['examples_bottom', 'After the example dialogue'],
];
const roles = [
  ['system', 'as a note'],
  ['user', "as the player's note"],
  ['assistant', "as the storyteller's note"],
];
const logics = [
  ['and_any', 'and any of them'],
  ['and_all', 'and all of them'],
  ['not_any', 'and none of them'],
  ['not_all', 'and not all of them'],
];

const choice = (name, label, options, current) =>
  el('select', { name, 'aria-label': label }, ...options.map(([value, text]) => el('option', { value, selected: value === current }, text)));
const whole = (name, label, value, min, max) => el('input', { name, type: 'number', min, max, step: 1, value, 'aria-label': label });

function entryFields(entry = {}) {
  return {
    title: el('input', { name: 'title', maxlength: 200, required: true, value: entry.title ?? '', 'aria-label': 'Title' }),
    keywords: el('input', { name: 'keywords', maxlength: 2000, value: (entry.keywords ?? []).join(', '), placeholder: 'lighthouse, keeper, lamp', 'aria-label': 'Keywords' }),
    content: el('textarea', { name: 'content', maxlength: 8000, rows: 4, required: true, 'aria-label': 'Content' }, entry.content ?? ''),
    enabled: el('input', { name: 'enabled', type: 'checkbox', checked: entry.enabled ?? true }),
    constant: el('input', { name: 'constant', type: 'checkbox', checked: entry.constant ?? false }),
    secondaryKeywords: el('input', { name: 'secondaryKeywords', maxlength: 2000, value: (entry.secondaryKeywords ?? []).join(', '), 'aria-label': 'Secondary keywords' }),
    selectiveLogic: choice('selectiveLogic', 'How secondary keywords count', logics, entry.selectiveLogic ?? 'and_any'),
    position: choice('position', 'Position', positions, entry.position ?? 'before_characters'),
    depth: whole('depth', 'Depth', entry.depth ?? 4, 0, 1000),
    depthRole: choice('depthRole', 'Role at depth', roles, entry.depthRole ?? 'system'),
    insertionOrder: whole('insertionOrder', 'Order', entry.insertionOrder ?? 100, -1000000, 1000000),
    probability: whole('probability', 'Probability', entry.probability ?? 100, 0, 100),
    inclusionGroup: el('input', { name: 'inclusionGroup', maxlength: 500, value: entry.inclusionGroup ?? '', 'aria-label': 'Inclusion group' }),
    sticky: whole('sticky', 'Sticky', entry.sticky ?? 0, 0, 1000),
    cooldown: whole('cooldown', 'Cooldown', entry.cooldown ?? 0, 0, 1000),
    delay: whole('delay', 'Delay', entry.delay ?? 0, 0, 1000),
  };
}

function fieldRows(fields) {
  return [
    el('label', {}, 'Title', fields.title),
    el('label', {}, 'Keywords (comma-separated: the entry is used when the story mentions one)', fields.keywords),
    el('label', {}, 'What the storyteller should know', fields.content),
    el('label', { class: 'toggle' }, fields.enabled, ' In use'),
    el(
      'details',
      { class: 'lore-options' },
      el('summary', {}, 'Options (as in SillyTavern World Info)'),
      el('label', { class: 'toggle' }, fields.constant, ' Always given, whatever the keywords'),
      el('label', {}, 'Secondary keywords (comma-separated)', fields.secondaryKeywords),
      el('label', {}, 'The entry is used when a keyword appears…', fields.selectiveLogic),
      el('label', {}, 'Where the storyteller reads it', fields.position),
      el('label', {}, 'Depth: scenes from the end (among the recent scenes)', fields.depth),
      el('label', {}, 'Voice at that depth', fields.depthRole),
      el('label', {}, 'Order: higher is placed later and kept first', fields.insertionOrder),
      el('label', {}, 'Probability (percent) that it is used when it matches', fields.probability),
      el('label', {}, 'Inclusion group: only one entry of a group is used at a time', fields.inclusionGroup),
      el('label', {}, 'Sticky: stays for this many scenes once used', fields.sticky),
      el('label', {}, 'Cooldown: then rests for this many scenes', fields.cooldown),
      el('label', {}, 'Delay: not before the story has this many scenes', fields.delay),
    ),
  ];
}

const numberIn = (input) => Number(input.value || 0);
const valuesOf = (fields) => ({
  title: fields.title.value,
  keywords: keywordList(fields.keywords.value),
  content: fields.content.value,
  enabled: fields.enabled.checked,
  constant: fields.constant.checked,
  secondaryKeywords: keywordList(fields.secondaryKeywords.value),
  selectiveLogic: fields.selectiveLogic.value,
  position: fields.position.value,
  depth: numberIn(fields.depth),
  depthRole: fields.depthRole.value,
  insertionOrder: numberIn(fields.insertionOrder),
  probability: numberIn(fields.probability),
  inclusionGroup: fields.inclusionGroup.value.trim(),
  sticky: numberIn(fields.sticky),
  cooldown: numberIn(fields.cooldown),
  delay: numberIn(fields.delay),
});

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
