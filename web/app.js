import { api, ApiError, setToken, streamTurn, takeTokenFromAddress, watchStory } from './api.js';
import { installChoiceKeys, renderChoices } from './choices.js';
import { hideContinueOffer, installContinueOffer, offerContinue } from './continue-offer.js';
import { el } from './dom.js';
import { installHome } from './home.js';
import { loadPreferences } from './preferences.js';
import { installSettings } from './settings-dialog.js';
import { clearSidePanel, showSideTab } from './side-panel.js';
import { installStoryMenu, loadMembers } from './story-menu.js';
import { followWhileReading, renderTranscript, streamingArticle, takenLine } from './transcript.js';

const $ = (id) => document.getElementById(id);

const state = {
  storyId: null,
  story: null,
  head: null,
  path: [],
  role: 'owner',
  busy: false,
  watch: null,
  tab: 'characters',
  auth: false,
  // Bumped on every navigation: an answer for a story no longer shown is dropped.
  generation: 0,
};

function describeError(error) {
  return error instanceof ApiError ? error.message : `Something went wrong: ${error.message}`;
}

/** A streaming path with the reader's pace, so that even a storyteller that writes at once is read as it comes. */
function pacedPath(path) {
  const { pace } = loadPreferences();
  return pace > 0 ? `${path}?pace=${pace}` : path;
}

const home = installHome({ describeError, pacedPath, openStoryAt: (id) => (location.hash = `#/story/${id}`) });
const settings = installSettings({
  onChange: (preferences, previous) => {
    if (state.storyId && preferences.thoughts !== previous.thoughts) loadStory(state.storyId, { keepScroll: true });
  },
});

// ---------- start-up and navigation ----------

async function start() {
  takeTokenFromAddress();
  installContinueOffer();
  $('signin-form').addEventListener('submit', (event) => {
    event.preventDefault();
    setToken($('token-input').value.trim());
    location.reload();
  });
  $('regenerate').addEventListener('click', regenerate);
  $('undo').addEventListener('click', undo);
  installStoryMenu({
    current: () => ({ storyId: state.storyId, story: state.story }),
    reload: () => loadStory(state.storyId, { keepScroll: true }),
    showNotice,
    goHome,
    describeError,
  });
  for (const button of document.querySelectorAll('.tabs button')) button.addEventListener('click', () => showTab(button.dataset.tab));
  installChoiceKeys(() => !$('story').hidden && !state.busy);
  window.addEventListener('hashchange', route);
  try {
    const info = await api('GET', '/api/info');
    $('provider').textContent = info.provider;
    $('offline-label').hidden = !info.offline;
    $('user').textContent = info.auth ? `signed in as ${info.user.name}` : '';
    state.auth = info.auth;
    settings.setInfo(info);
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
  const match = /^#\/story\/([^/?#]+)/.exec(location.hash);
  state.watch?.abort();
  state.watch = null;
  state.generation++;
  hideContinueOffer();
  if (match) {
    $('home').hidden = true;
    $('story').hidden = false;
    openStory(decodeURIComponent(match[1]));
  } else {
    $('story').hidden = true;
    $('home').hidden = false;
    state.storyId = null;
    home.show(history.state?.notice ?? '');
  }
}

function goHome(notice) {
  history.pushState({ notice }, '', '#/');
  route();
}

function showNotice(text, kind = 'info') {
  const notice = $('notice');
  notice.textContent = text;
  notice.className = `notice ${kind}`;
  notice.hidden = !text;
}

// ---------- the story ----------

/** Nothing of the story shown before may stay: title, scenes, choices and panels all go. */
function resetStoryView() {
  for (const id of ['story-title', 'scene-number', 'role', 'status']) $(id).textContent = '';
  for (const id of ['transcript', 'choices', 'thoughts', 'members']) $(id).replaceChildren();
  $('thoughts').hidden = true;
  $('archived-badge').hidden = true;
  $('story-error').hidden = true;
  $('turn').hidden = false;
  $('story').classList.remove('missing');
  $('story-menu').hidden = true;
  $('story-menu').open = false;
  $('share').hidden = true;
  document.querySelector('#story .side').hidden = false;
  clearSidePanel();
  showNotice('');
}

function showStoryError(message) {
  resetStoryView();
  $('turn').hidden = true;
  $('story').classList.add('missing');
  document.querySelector('#story .side').hidden = true;
  $('story-error').replaceChildren(el('p', {}, message), el('a', { href: '#/' }, 'Back to your stories'));
  $('story-error').hidden = false;
}

async function openStory(storyId) {
  state.storyId = storyId;
  state.story = null;
  resetStoryView();
  const generation = state.generation;
  if (!(await loadStory(storyId, { scrollToHead: true }))) return;
  if (generation !== state.generation) return;
  const controller = new AbortController();
  state.watch = controller;
  watchStory(storyId, onStoryEvent, controller.signal);
  showTab(state.tab);
}

/** Fetches the story and its head path and shows them; false when it cannot be shown. */
async function loadStory(storyId, { scrollToHead = false, keepScroll = false } = {}) {
  const generation = state.generation;
  const scrollY = window.scrollY;
  try {
    const { thoughts } = loadPreferences();
    const [view, tree] = await Promise.all([api('GET', `/api/stories/${storyId}${thoughts ? '?thoughts=1' : ''}`), api('GET', `/api/stories/${storyId}/scenes?content=1`)]);
    if (generation !== state.generation) return false;
    state.story = view.story;
    state.role = view.role;
    $('story-title').textContent = view.story.title;
    $('role').textContent = view.role === 'owner' ? '' : view.role;
    $('archived-badge').hidden = view.story.status !== 'archived';
    $('archive-story').textContent = view.story.status === 'archived' ? 'Unarchive' : 'Archive';
    $('story-menu').hidden = false;
    $('archive-story').hidden = $('delete-story').hidden = view.role !== 'owner';
    $('share').hidden = !state.auth || view.role !== 'owner';
    if (!$('share').hidden) loadMembers(storyId);
    state.path = renderTranscript($('transcript'), tree, { onPick: (scene) => offerToContinue(scene, true) });
    showHead(view.scene, view.thoughts);
    // An opening cut off (its process stopped mid-way) is written again by Regenerate.
    if (!view.scene) showNotice('This story has no opening scene yet: press Regenerate to write it.');
    else if (view.story.status === 'archived') showNotice('This story is archived: you can read and export it; unarchive it (Story menu) to play on.');
    if (keepScroll) window.scrollTo(0, scrollY);
    else if (scrollToHead) $('transcript').querySelector('.scene.head')?.scrollIntoView({ block: 'start' });
    return true;
  } catch (error) {
    if (generation === state.generation) showStoryError(describeError(error));
    return false;
  }
}

function showHead(scene, thoughts) {
  state.head = scene;
  $('scene-number').textContent = scene ? `Scene ${scene.sceneNumber}` : '';
  renderChoices($('choices'), scene?.choices ?? [], { onTake: advance });
  $('choice-hint').hidden = !scene?.choices?.length;
  $('status').textContent = '';
  const box = $('thoughts');
  if (thoughts) {
    box.replaceChildren(
      el('h3', {}, 'Thoughts'),
      ...(thoughts.length ? thoughts.map((t) => el('p', {}, el('strong', {}, `${t.name}: `), t.content)) : [el('p', { class: 'muted' }, 'Nobody here is thinking anything in particular.')]),
    );
  }
  box.hidden = !thoughts;
  setBusy(state.busy);
}

function setBusy(busy) {
  state.busy = busy;
  const locked = busy || state.role === 'reader' || state.story?.status === 'archived';
  for (const control of document.querySelectorAll('#choices button, #choices input, #regenerate, #undo')) control.disabled = locked;
  $('story').dataset.busy = String(busy);
}

function onStoryEvent(name, data) {
  if (state.busy) return;
  // `ready` comes on every (re)connection: anything missed while disconnected shows up here.
  const moved = (name === 'ready' && data.headSceneId && data.headSceneId !== state.head?.id) || ((name === 'scene' || name === 'head') && data.scene && data.scene.id !== state.head?.id);
  if (!moved) return;
  loadStory(state.storyId, { keepScroll: true }).then((shown) => {
    if (shown && name !== 'ready') showNotice(name === 'scene' ? 'A new scene was written.' : 'The story moved to another scene.');
    if (shown) showTab(state.tab);
  });
}

/** Runs a scene-writing request, streaming its prose into a new scene at the bottom of the transcript. */
async function writeScene(path, body, { taken, replacesHead }) {
  if (state.busy) return;
  const transcript = $('transcript');
  const oldHead = replacesHead ? transcript.querySelector('.scene.head') : null;
  const added = [];
  setBusy(true);
  hideContinueOffer();
  showNotice('');
  $('status').textContent = 'The storyteller is writing…';
  $('choices').replaceChildren();
  $('choice-hint').hidden = true;
  $('thoughts').hidden = true;
  if (taken) added.push(takenLine(taken.number, taken.text, taken.instruction));
  const sceneNumber = (state.head?.sceneNumber ?? 0) + (replacesHead ? 0 : 1);
  const stream = streamingArticle(sceneNumber);
  added.push(stream.article);
  if (oldHead) oldHead.hidden = true;
  else transcript.querySelector('.scene.head')?.classList.remove('head');
  transcript.append(...added);
  const follow = followWhileReading(stream.article);
  stream.article.scrollIntoView({ block: 'nearest' });
  const generation = state.generation;
  try {
    await streamTurn(pacedPath(path), body, {
      onText: (chunk) => {
        stream.append(chunk);
        follow.update();
      },
    });
    // Still busy while the page catches up, so that this turn's own event is not news.
    if (generation === state.generation) await loadStory(state.storyId, { keepScroll: true });
  } catch (error) {
    if (generation !== state.generation) return;
    if (error instanceof ApiError && error.code === 'turn_conflict') {
      await loadStory(state.storyId, { keepScroll: true });
      showNotice('The story moved on meanwhile: here is the scene that was written.', 'conflict');
    } else {
      for (const node of added) node.remove();
      if (oldHead) oldHead.hidden = false;
      await loadStory(state.storyId, { keepScroll: true });
      showNotice(describeError(error), 'error');
    }
  } finally {
    follow.stop();
    setBusy(false);
    if (generation === state.generation) showTab(state.tab);
  }
}

function advance(choice, instruction) {
  const text = state.head?.choices.find((c) => c.number === choice)?.content;
  return writeScene(
    `/api/stories/${state.storyId}/turns`,
    { choice, fromSceneId: state.head?.id, ...(instruction ? { instruction } : {}) },
    { taken: { number: choice, text, instruction } },
  );
}

function regenerate() {
  return writeScene(`/api/stories/${state.storyId}/regenerate`, { fromSceneId: state.head?.id }, { replacesHead: true });
}

async function moveHead(path, body) {
  if (state.busy) return;
  setBusy(true);
  try {
    await api('POST', path, body);
    await loadStory(state.storyId, { scrollToHead: true });
    showNotice('');
  } catch (error) {
    showNotice(describeError(error), 'error');
  } finally {
    setBusy(false);
    showTab(state.tab);
  }
}

/** Only someone who may play on, with no scene being written, is offered to continue from elsewhere. */
function offerToContinue(scene, onHeadPath) {
  if (state.busy || state.role === 'reader' || state.story?.status === 'archived') return;
  offerContinue(scene, { onHeadPath, onConfirm: () => rewindTo(scene.id) });
}

function undo() {
  return moveHead(`/api/stories/${state.storyId}/undo`, {});
}

function rewindTo(sceneId) {
  return moveHead(`/api/stories/${state.storyId}/rewind`, { toSceneId: sceneId });
}

// ---------- side panel ----------

function showTab(tab) {
  state.tab = tab;
  if (!state.storyId || !state.story) return;
  return showSideTab(tab, {
    storyId: state.storyId,
    readOnly: state.role === 'reader',
    describeError,
    onMapPick: (scene, onHeadPath) => {
      if (scene.id === state.head?.id) return;
      const inTranscript = state.path.find((s) => s.id === scene.id);
      if (inTranscript) $('transcript').querySelector(`.scene[data-scene-id="${scene.id}"]`)?.scrollIntoView({ block: 'start', behavior: 'smooth' });
      offerToContinue(inTranscript ?? scene, onHeadPath);
    },
  });
}

start().catch((error) => showNotice(describeError(error), 'error'));
