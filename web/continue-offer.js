// "Continue from here": picking an earlier scene (in the transcript or on the map) only
// offers to move the head there; the story moves when the reader confirms.

const $ = (id) => document.getElementById(id);
let pending = null;

function excerptOf(scene) {
  const text = (scene.content ?? scene.excerpt ?? '').replace(/\s+/g, ' ').trim();
  return text.length > 220 ? `${text.slice(0, 219)}…` : text;
}

export function hideContinueOffer() {
  $('continue-offer').hidden = true;
  for (const node of document.querySelectorAll('.scene.picked')) node.classList.remove('picked');
  pending = null;
}

/** Shows the offer for `scene`; onConfirm runs when the reader presses "Continue from here". */
export function offerContinue(scene, { onHeadPath, onConfirm }) {
  hideContinueOffer();
  pending = onConfirm;
  $('continue-text').textContent = onHeadPath
    ? `Continue the story from scene ${scene.sceneNumber}? The scenes after it stay in the story map; you can come back to them.`
    : `Continue from scene ${scene.sceneNumber} of another branch? The scenes you are reading now stay in the story map.`;
  $('continue-excerpt').textContent = excerptOf(scene);
  document.querySelector(`.scene[data-scene-id="${scene.id}"]`)?.classList.add('picked');
  $('continue-offer').hidden = false;
  $('continue-confirm').focus({ preventScroll: true });
}

export function installContinueOffer() {
  $('continue-confirm').addEventListener('click', () => {
    const confirm = pending;
    hideContinueOffer();
    confirm?.();
  });
  $('continue-cancel').addEventListener('click', hideContinueOffer);
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && !$('continue-offer').hidden) hideContinueOffer();
  });
}
