import { el, renderProse } from './dom.js';

/** The scenes from the first to the head, in reading order. */
export function headPathOf(tree) {
  const byId = new Map(tree.scenes.map((scene) => [scene.id, scene]));
  const path = [];
  for (let at = byId.get(tree.headSceneId); at && path.length <= tree.scenes.length; at = byId.get(at.parentSceneId)) path.push(at);
  return path.reverse();
}

/** "You chose 2: …" with the instruction that went with it, between two scenes. */
export function takenLine(choiceNumber, choiceText, instruction) {
  return el(
    'p',
    { class: 'taken', 'data-choice': choiceNumber ?? '' },
    el('span', { class: 'taken-label' }, choiceNumber ? `You chose ${choiceNumber}` : 'You went on'),
    choiceText ? el('span', { class: 'taken-choice' }, choiceText) : null,
    instruction ? el('span', { class: 'taken-instruction' }, `“${instruction}”`) : null,
  );
}

/** One scene of the transcript. `.scene-tools` is where per-scene tools (the prompt view) go. */
export function sceneArticle(scene, { head = false } = {}) {
  const article = el(
    'article',
    { class: head ? 'scene head' : 'scene', 'data-scene-id': scene.id, 'data-scene-number': scene.sceneNumber, 'data-streaming': 'false', tabindex: head ? undefined : 0 },
    el('header', { class: 'scene-head' }, el('span', { class: 'scene-label' }, `Scene ${scene.sceneNumber}`)),
    el('div', { class: 'prose' }),
    el('div', { class: 'scene-tools', 'data-scene-id': scene.id }),
  );
  renderProse(article.querySelector('.prose'), scene.content);
  return article;
}

/**
 * The head path as one transcript: every scene, and between two scenes the choice and the
 * instruction taken. A click on an earlier scene calls onPick(scene) (the page offers to
 * continue from there; nothing moves until the reader says so).
 */
export function renderTranscript(container, tree, { onPick }) {
  const path = headPathOf(tree);
  const nodes = [];
  path.forEach((scene, index) => {
    const parent = path[index - 1];
    if (parent) nodes.push(takenLine(scene.choiceNumber, parent.choices?.find((c) => c.number === scene.choiceNumber)?.content, scene.instruction));
    const article = sceneArticle(scene, { head: index === path.length - 1 });
    if (index < path.length - 1) {
      const pick = () => {
        // Selecting text to read or copy it is not a request to go anywhere.
        if (!window.getSelection()?.isCollapsed) return;
        onPick(scene);
      };
      article.addEventListener('click', pick);
      article.addEventListener('keydown', (event) => event.key === 'Enter' && pick());
    }
    nodes.push(article);
  });
  container.replaceChildren(...nodes);
  return path;
}

/** A scene being written: its prose grows as it streams in. */
export function streamingArticle(sceneNumber) {
  const article = sceneArticle({ id: '', sceneNumber, content: '' }, { head: true });
  article.classList.add('streaming');
  article.dataset.streaming = 'true';
  const prose = article.querySelector('.prose');
  let text = '';
  return {
    article,
    append(chunk) {
      text += chunk;
      renderProse(prose, text);
    },
  };
}

/** Keeps a growing scene in view while the reader stays at the bottom; reading up stops it. */
export function followWhileReading(article) {
  let following = true;
  let lastY = window.scrollY;
  const onScroll = () => {
    if (window.scrollY < lastY - 4) following = false;
    lastY = window.scrollY;
  };
  window.addEventListener('scroll', onScroll, { passive: true });
  return {
    update() {
      const overflow = article.getBoundingClientRect().bottom - window.innerHeight + 16;
      if (following && overflow > 0) {
        window.scrollBy(0, overflow);
        lastY = window.scrollY;
      }
    },
    stop: () => window.removeEventListener('scroll', onScroll),
  };
}
