// Builds elements with text as text nodes only: story prose can contain markup and must
// never be parsed as HTML.

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') node.className = value;
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  append(node, children);
  return node;
}

const svgNs = 'http://www.w3.org/2000/svg';

export function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS(svgNs, tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null) continue;
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
}

export function clear(node) {
  node.replaceChildren();
}

/** Prose as paragraphs, each set with textContent. */
// *Actions between asterisks*, as character cards and chat models write them (SillyTavern
// shows them in italics); a lone or doubled asterisk stays as it is.
const emphasis = /(?<!\*)\*([^*\n]+)\*(?!\*)/g;

function proseParagraph(paragraph) {
  const parts = [];
  let last = 0;
  for (const match of paragraph.matchAll(emphasis)) {
    if (match.index > last) parts.push(paragraph.slice(last, match.index));
    parts.push(el('em', {}, match[1]));
    last = match.index + match[0].length;
  }
  if (last < paragraph.length) parts.push(paragraph.slice(last));
  return el('p', {}, ...parts);
}

export function renderProse(container, text) {
  container.replaceChildren(...text.split(/\n{2,}/).map(proseParagraph));
}
