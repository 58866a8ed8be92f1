import { el, svg } from './dom.js';

const labelFontPx = 16;
const lineHeightPx = 17;

/** A long name on two lines (first word, then the rest), so that labels stay narrow around a crowded circle. */
function labelLines(name) {
  const space = name.indexOf(' ');
  return name.length > 10 && space > 0 ? [name.slice(0, space), name.slice(space + 1)] : [name];
}

// A generous estimate of a label's width in the graph's font, so that no name is clipped.
const labelWidth = (name) => Math.max(...labelLines(name).map((line) => line.length)) * labelFontPx * 0.6 + 8;

function tone(sentiment) {
  if (sentiment > 0.15) return 'warm';
  if (sentiment < -0.15) return 'cold';
  return 'neutral';
}

/** Where each character sits: on a circle around the player ("You", id null) at the centre. */
function layout(nodes, radius) {
  const positions = new Map([[null, { x: 0, y: 0, angle: 0 }]]);
  nodes.forEach((node, index) => {
    const angle = (2 * Math.PI * index) / Math.max(1, nodes.length) - Math.PI / 2;
    positions.set(node.id, { x: radius * Math.cos(angle), y: radius * Math.sin(angle), angle });
  });
  return positions;
}

/** A name set outside its node, away from the centre: left of nodes on the left, right of those on the right. */
function label(node, { x, y, angle }) {
  if (node.id === null) return svg('text', { x, y: y + 4, 'text-anchor': 'middle', class: 'graph-label player-label' }, node.name);
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const anchor = cos > 0.3 ? 'start' : cos < -0.3 ? 'end' : 'middle';
  const lines = labelLines(node.name);
  const offset = 20;
  // Clear of the node's circle sideways whatever the angle.
  const lx = anchor === 'start' ? x + offset : anchor === 'end' ? x - offset : x;
  // Above a node at the top, below one at the bottom, centred beside one at the side.
  const firstY = anchor === 'middle' ? (sin < 0 ? y - offset - (lines.length - 1) * lineHeightPx : y + offset + 10) : y + 5 - ((lines.length - 1) * lineHeightPx) / 2;
  return svg(
    'text',
    { x: lx, y: firstY, 'text-anchor': anchor, class: 'graph-label' },
    ...lines.map((line, index) => svg('tspan', { x: lx, dy: index === 0 ? 0 : lineHeightPx }, line)),
  );
}

/** The drawing's bounds with every label whole inside them. */
function bounds(nodes, positions, radius) {
  let minX = -radius - 30;
  let maxX = radius + 30;
  let minY = -radius - 30 - 2 * lineHeightPx;
  let maxY = radius + 30 + 2 * lineHeightPx;
  for (const node of nodes) {
    const { x, angle } = positions.get(node.id);
    const cos = Math.cos(angle);
    const width = labelWidth(node.name);
    if (cos > 0.3) maxX = Math.max(maxX, x + 20 + width);
    else if (cos < -0.3) minX = Math.min(minX, x - 20 - width);
    else {
      maxX = Math.max(maxX, x + width / 2);
      minX = Math.min(minX, x - width / 2);
    }
  }
  return { minX, minY, width: maxX - minX, height: maxY - minY };
}

/**
 * Characters on a circle around the player; an arrow per relationship (how the first feels
 * about the second), coloured by feeling and as thick as their familiarity. Directed pairs
 * bend apart so that both stay visible. Ties below `minFamiliarity` are left out.
 */
export function drawRelationshipGraph(graph, { minFamiliarity = 0 } = {}) {
  // Room for each name around the circle: the circle grows with the number of people.
  const radius = Math.max(110, graph.nodes.length * 11);
  const positions = layout(graph.nodes, radius);
  const names = new Map([[null, 'you'], ...graph.nodes.map((n) => [n.id, n.name])]);
  const shown = graph.edges.filter((edge) => positions.has(edge.from) && positions.has(edge.to) && edge.familiarity >= minFamiliarity);
  const edges = shown.map((edge) => {
    const a = positions.get(edge.from);
    const b = positions.get(edge.to);
    const mx = (a.x + b.x) / 2 + (b.y - a.y) * 0.12;
    const my = (a.y + b.y) / 2 - (b.x - a.x) * 0.12;
    return svg(
      'path',
      {
        d: `M${a.x},${a.y} Q${mx},${my} ${b.x},${b.y}`,
        class: `graph-edge ${tone(edge.sentiment)}`,
        'stroke-width': (1 + edge.familiarity * 4).toFixed(1),
        'marker-end': `url(#arrow-${tone(edge.sentiment)})`,
        'data-from': edge.from ?? 'you',
        'data-to': edge.to ?? 'you',
      },
      svg('title', {}, `${names.get(edge.from)} → ${names.get(edge.to)}: ${edge.type}, feeling ${edge.sentiment.toFixed(2)}, trust ${edge.trust.toFixed(2)}, familiarity ${edge.familiarity.toFixed(2)}`),
    );
  });
  const everyone = [{ id: null, name: 'You', mood: '' }, ...graph.nodes];
  const nodes = everyone.map((node) => {
    const position = positions.get(node.id);
    return svg(
      'g',
      { class: node.id === null ? 'graph-node player' : 'graph-node', 'data-character-id': node.id ?? 'you' },
      svg('title', {}, node.mood ? `${node.name} (${node.mood})` : node.name),
      svg('circle', { cx: position.x, cy: position.y, r: node.id === null ? 20 : 12 }),
      label(node, position),
    );
  });
  const markers = ['warm', 'cold', 'neutral'].map((kind) =>
    svg('marker', { id: `arrow-${kind}`, viewBox: '0 0 10 10', refX: 23, refY: 5, markerWidth: 10, markerHeight: 10, markerUnits: 'userSpaceOnUse', orient: 'auto-start-reverse' }, svg('path', { d: 'M0,0 L10,5 L0,10 z', class: `arrow-head ${kind}` })),
  );
  const box = bounds(graph.nodes, positions, radius);
  return svg(
    'svg',
    { class: 'relationship-graph', viewBox: `${box.minX} ${box.minY} ${box.width} ${box.height}`, role: 'img', 'aria-label': `Relationship graph: ${graph.nodes.length} people, ${shown.length} ties shown` },
    svg('defs', {}, ...markers),
    ...edges,
    ...nodes,
  );
}

/** Once on screen, the drawing is cropped to what it really holds: the width estimates above are generous. */
function fitToDrawing(graphSvg) {
  const box = graphSvg.getBBox();
  if (box.width > 0 && box.height > 0) graphSvg.setAttribute('viewBox', `${box.x - 8} ${box.y - 8} ${box.width + 16} ${box.height + 16}`);
}

function legend() {
  const swatch = (kind, text) => el('li', {}, el('span', { class: `legend-line ${kind}` }), text);
  return el(
    'ul',
    { class: 'graph-legend', 'aria-label': 'Legend' },
    swatch('warm', 'warm feelings'),
    swatch('neutral', 'neutral'),
    swatch('cold', 'cold or hostile'),
    el('li', {}, el('span', { class: 'legend-line neutral thick' }), 'thicker: know each other better'),
    el('li', {}, el('span', { class: 'legend-arrow' }, '→'), 'how one feels about the other'),
  );
}

/** The graph with its legend and a filter that hides weak ties, for a panel. */
export function renderRelationshipPanel(panel, graph) {
  if (graph.nodes.length === 0) {
    panel.replaceChildren(el('p', { class: 'empty-state' }, 'Nobody has met yet.'));
    return;
  }
  const holder = el('div', { class: 'graph-holder' });
  const count = el('span', { class: 'hint', 'aria-live': 'polite' });
  const slider = el('input', { type: 'range', min: 0, max: 0.9, step: 0.1, value: 0, class: 'weak-ties', 'aria-label': 'Hide ties weaker than' });
  const draw = () => {
    const minFamiliarity = Number(slider.value);
    const drawing = drawRelationshipGraph(graph, { minFamiliarity });
    holder.replaceChildren(drawing);
    if (holder.isConnected) fitToDrawing(drawing);
    const shown = graph.edges.filter((e) => e.familiarity >= minFamiliarity).length;
    count.textContent = `${shown} of ${graph.edges.length} ties`;
  };
  slider.addEventListener('input', draw);
  const enlarge = el('button', { type: 'button', class: 'small secondary enlarge-graph', onclick: () => showLarge(graph, Number(slider.value)) }, 'Enlarge');
  panel.replaceChildren(el('div', { class: 'graph-filter' }, el('label', {}, 'Hide weak ties ', slider), count, enlarge), holder, legend());
  draw();
}

/** The same graph across most of the window, for a crowded story. */
function showLarge(graph, minFamiliarity) {
  const dialog = el(
    'dialog',
    { class: 'dialog graph-dialog', 'aria-label': 'Relationships' },
    el('form', { method: 'dialog' }, el('div', { class: 'menu-row' }, el('h2', {}, 'Relationships'), el('button', { type: 'submit', class: 'secondary close-graph' }, 'Close')), drawRelationshipGraph(graph, { minFamiliarity }), legend()),
  );
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  fitToDrawing(dialog.querySelector('svg.relationship-graph'));
}
