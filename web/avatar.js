import { el } from './dom.js';

// Soft, legible backgrounds for white initials; a name always gets the same one.
const hues = [18, 42, 95, 160, 200, 232, 280, 330];

function hueOf(name) {
  let hash = 0;
  for (const char of name) hash = (hash * 31 + char.codePointAt(0)) >>> 0;
  return hues[hash % hues.length];
}

function initialOf(name) {
  return ([...name.trim()][0] ?? '?').toUpperCase();
}

/**
 * A character's picture: the card's art when the server has one (`avatarUrl`), else the
 * first letter of the name on a colour of its own. A picture that fails to load falls back too.
 */
export function avatar(character, size = 40) {
  const fallback = el('span', { class: 'avatar initial', 'aria-hidden': 'true' }, initialOf(character.name));
  // Set through the style object: the page's CSP refuses style attributes.
  fallback.style.setProperty('--avatar-size', `${size}px`);
  fallback.style.setProperty('--avatar-hue', String(hueOf(character.name)));
  if (!character.avatarUrl) return fallback;
  const image = el('img', { class: 'avatar', src: character.avatarUrl, alt: '', width: size, height: size });
  image.addEventListener('error', () => image.replaceWith(fallback), { once: true });
  return image;
}
