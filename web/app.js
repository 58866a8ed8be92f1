import { api, ApiError, setToken, streamTurn, takeTokenFromAddress, watchStory } from './api.js';
import { clear, el, renderProse } from './dom.js';
import { drawStoryMap } from './story-map.js';
import { drawRelationshipGraph } from './relationship-graph.js';
import { renderCharacters } from './characters-panel.js';
import { renderPromptView } from './prompt-view.js';

const $ = (id) => document.getElementById(id);

const state = {
  storyId: null,
  story: null,
  scene: null,
  role: 'owner',
  busy: false,
  watch: null,
  tab: null,
  auth: false,
};

// ---------- start-up and navigation ----------

async function start() {
  takeTokenFromAddress();
  $('signin-form').addEventListener('submit', (event) => {
    event.preventDefault();
    setToken($('token-input').value.trim());
    location.reload();
  });
  $('new-story-form').addEventListener('submit', createStory);
  $('turn-form').addEventListener('submit', (event) => event.preventDefault());
  $('regenerate').addEventListener('click', regenerate);
  $('undo').addEventListener('click', undo);
  $('share-form').addEventListener('submit', invite);
  $('thoughts-toggle').addEventListener('change', () => {
    refreshThoughts();
    if (state.tab === 'characters') showTab('characters');
  });
  for (const button of document.querySelectorAll('.tabs button')) button.addEventListener('click', () => showTab(button.dataset.tab));
  window.addEventListener('hashchange', route);
  try {
    const info = await api('GET', '/api/info');
    $('provider').textContent = info.provider;
    $('offline-label').hidden = !info.offline;
    $('user').textContent = info.auth ? `signed in as ${info.user.name}` : '';
    state.auth = info.auth;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      $('signin').hidden = false;
      return;
    }
    throw error;
  }
  route();
}

function route() {
  const match = /^#\/story\/([0-9a-fA-F-]{36})/.exec(location.hash);
  state.watch?.abort();
  state.watch = null;
  if (match) {
    $('home').hidden = true;
    $('story').hidden = false;
    openStory(match[1]);
  } else {
    $('story').hidden = true;
    $('home').hidden = false;
    $('new-story-stream').hidden = true;
    loadStoryList();
  }
}

function showNotice(text, kind = 'info') {
  const notice = $('notice');
  notice.textContent = text;
  notice.className = `notice ${kind}`;
  notice.hidden = !text;
}

function describeError(error) {
  return error instanceof ApiError ? error.message : `Something went wrong: ${error.message}`;
}

// ---------- home ----------

async function loadStoryList() {
  const { stories } = await api('GET', '/api/stories');
  const list = $('story-list');
  clear(list);
  for (const story of stories) {
    list.append(
      el('li', {}, el('a', { href: `#/story/${story.id}`, class: 'story-link' }, story.title), el('span', { class: 'muted' }, ` · ${story.sceneCount} scene${story.sceneCount === 1 ? '' : 's'}`)),
    );
  }
  $('no-stories').hidden = stories.length > 0;
}

async function createStory(event) {
  event.preventDefault();
  const button = $('create-story');
  const stream = $('new-story-stream');
  button.disabled = true;
  stream.hidden = false;
  stream.textContent = '';
  let text = '';
  try {
    const body = { title: $('new-title').value, setting: $('new-setting').value };
    if ($('new-instructions').value.trim()) body.instructions = $('new-instructions').value;
    const result = await streamTurn('/api/stories', body, {
      onText: (chunk) => {
        text += chunk;
        stream.textContent = text;
      },
    });
    location.hash = `#/story/${result.story.id}`;
  } catch (error) {
    stream.textContent = describeError(error);
  } finally {
    button.disabled = false;
  }
}

// ---------- the story ----------

async function openStory(storyId) {
  state.storyId = storyId;
  showNotice('');
  if (!(await loadStory(storyId))) return;
  const controller = new AbortController();
  state.watch = controller;
  watchStory(storyId, onStoryEvent, controller.signal);
  showTab(state.tab);
}

/** Fetches the story and shows its head scene; false when it cannot be shown. */
async function loadStory(storyId) {
  try {
    const view = await api('GET', `/api/stories/${storyId}`);
    state.story = view.story;
    state.role = view.role;
    $('story-title').textContent = view.story.title;
    $('role').textContent = view.role === 'owner' ? '' : view.role;
    $('share').hidden = !state.auth || view.role !== 'owner';
    if (!$('share').hidden) loadMembers();
    if (view.scene) showScene(view.scene);
    // An opening cut off (its process stopped mid-way) is written again by Regenerate.
    else showNotice('This story has no opening scene yet: press Regenerate to write it.');
    return true;
  } catch (error) {
    showNotice(describeError(error), 'error');
    return false;
  }
}

function showScene(scene) {
  state.scene = scene;
  const article = $('scene');
  article.classList.remove('streaming');
  article.dataset.streaming = 'false';
  article.dataset.sceneId = scene.id;
  renderProse(article, scene.content);
  $('scene-number').textContent = `Scene ${scene.sceneNumber}`;
  const choices = $('choices');
  clear(choices);
  for (const choice of scene.choices) {
    choices.append(
      el('li', {}, el('button', { type: 'button', class: 'choice', 'data-choice': choice.number, onclick: () => advance(choice.number) }, el('span', { class: 'choice-number' }, `${choice.number}`), choice.content)),
    );
  }
  $('status').textContent = '';
  setBusy(state.busy);
  refreshThoughts();
  if (state.tab) showTab(state.tab);
}

function setBusy(busy) {
  state.busy = busy;
  const readOnly = state.role === 'reader';
  for (const control of document.querySelectorAll('.choice, #regenerate, #undo, #instruction')) control.disabled = busy || readOnly;
  $('story').dataset.busy = String(busy);
}

function onStoryEvent(name, data) {
  // `ready` comes on every (re)connection: anything missed while disconnected shows up here.
  if (name === 'ready' && !state.busy && state.scene && data.headSceneId && data.headSceneId !== state.scene.id) {
    loadStory(state.storyId);
    return;
  }
  if ((name === 'scene' || name === 'head') && data.scene && !state.busy && data.scene.id !== state.scene?.id) {
    showScene(data.scene);
    showNotice(name === 'scene' ? 'A new scene was written.' : 'The story moved to another scene.');
  }
}

/** Runs a scene-writing request, streaming its prose into the page. */
async function writeScene(path, body) {
  if (state.busy) return;
  const article = $('scene');
  const previous = state.scene;
  setBusy(true);
  showNotice('');
  $('status').textContent = 'The storyteller is writing…';
  article.classList.add('streaming');
  article.dataset.streaming = 'true';
  article.textContent = '';
  clear($('choices'));
  let text = '';
  try {
    const result = await streamTurn(path, body, {
      idempotencyKey: crypto.randomUUID(),
      onText: (chunk) => {
        text += chunk;
        article.textContent = text;
      },
    });
    $('instruction').value = '';
    state.busy = false;
    showScene(result.scene);
  } catch (error) {
    state.busy = false;
    if (error instanceof ApiError && error.code === 'turn_conflict') {
      const head = error.details.head;
      if (head) showScene(head);
      else await loadStory(state.storyId);
      showNotice(`The story moved on. ${head ? 'Here is the scene that was written meanwhile.' : ''}`, 'conflict');
    } else {
      if (previous) showScene(previous);
      showNotice(describeError(error), 'error');
    }
  } finally {
    setBusy(false);
    $('status').textContent = '';
  }
}

function advance(choice) {
  const instruction = $('instruction').value.trim();
  return writeScene(`/api/stories/${state.storyId}/turns`, { choice, fromSceneId: state.scene?.id, ...(instruction ? { instruction } : {}) });
}

function regenerate() {
  return writeScene(`/api/stories/${state.storyId}/regenerate`, { fromSceneId: state.scene?.id });
}

async function moveHead(path, body) {
  if (state.busy) return;
  setBusy(true);
  try {
    const result = await api('POST', path, body);
    state.busy = false;
    showScene(result.scene);
    showNotice('');
  } catch (error) {
    showNotice(describeError(error), 'error');
  } finally {
    setBusy(false);
  }
}

function undo() {
  return moveHead(`/api/stories/${state.storyId}/undo`, {});
}

function rewindTo(sceneId) {
  return moveHead(`/api/stories/${state.storyId}/rewind`, { toSceneId: sceneId });
}

async function refreshThoughts() {
  const box = $('thoughts');
  if (!$('thoughts-toggle').checked || !state.storyId) {
    box.hidden = true;
    return;
  }
  const view = await api('GET', `/api/stories/${state.storyId}?thoughts=1`).catch(() => null);
  clear(box);
  const thoughts = view?.thoughts ?? [];
  box.append(el('h3', {}, 'Thoughts'), ...(thoughts.length ? thoughts.map((t) => el('p', {}, el('strong', {}, `${t.name}: `), t.content)) : [el('p', { class: 'muted' }, 'Nobody here is thinking anything in particular.')]));
  box.hidden = false;
}

// ---------- sharing ----------

async function loadMembers() {
  const { members } = await api('GET', `/api/stories/${state.storyId}/members`);
  $('members').replaceChildren(...members.map((m) => el('li', {}, `${m.user} · ${m.role}`)));
}

async function invite(event) {
  event.preventDefault();
  try {
    await api('POST', `/api/stories/${state.storyId}/members`, { user: $('share-user').value.trim(), role: $('share-role').value });
    $('share-user').value = '';
    await loadMembers();
    showNotice('');
  } catch (error) {
    showNotice(describeError(error), 'error');
  }
}

// ---------- side panels ----------

async function showTab(tab) {
  state.tab = tab;
  for (const button of document.querySelectorAll('.tabs button')) button.classList.toggle('active', button.dataset.tab === tab);
  for (const name of ['characters', 'map', 'graph']) $(`${name}-panel`).hidden = name !== tab;
  if (!tab || !state.storyId) return;
  const panel = $(`${tab}-panel`);
  try {
    if (tab === 'characters') await renderCharacters(panel, { storyId: state.storyId, thoughts: $('thoughts-toggle').checked, readOnly: state.role === 'reader', describeError });
    if (tab === 'map') {
      const tree = await api('GET', `/api/stories/${state.storyId}/scenes`);
      panel.replaceChildren(el('p', { class: 'muted' }, 'Click a scene to go back to it.'), el('div', { class: 'map-scroll' }, drawStoryMap(tree, rewindTo)), renderPromptView(state.storyId, tree, describeError));
    }
    if (tab === 'graph') {
      const graph = await api('GET', `/api/stories/${state.storyId}/relationships`);
      panel.replaceChildren(graph.nodes.length ? drawRelationshipGraph(graph) : el('p', { class: 'muted' }, 'Nobody has met yet.'));
    }
  } catch (error) {
    panel.replaceChildren(el('p', { class: 'error' }, describeError(error)));
  }
}

start().catch((error) => showNotice(describeError(error), 'error'));
