import { headers } from './api.js';
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
  const image = el('img', { class: 'avatar', alt: '', width: size, height: size });
  image.addEventListener('error', () => image.replaceWith(fallback), { once: true });
  void showPicture(image, character.avatarUrl).catch(() => image.replaceWith(fallback));
  return image;
}

// Pictures already fetched, by address: a panel redrawn after each scene fetches none again.
const pictures = new Map();

/** Fetched with the token (an <img src> would go without it), shown from a blob: address. */
async function showPicture(image, url) {
  if (!pictures.has(url)) {
    pictures.set(
      url,
      fetch(url, { headers: headers() }).then(async (response) => {
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        return URL.createObjectURL(await response.blob());
      }),
    );
  }
  try {
    image.src = await pictures.get(url);
  } catch (error) {
    pictures.delete(url);
    throw error;
  }
}
