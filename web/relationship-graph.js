import { svg } from './dom.js';

const size = 320;
const centre = size / 2;
const radius = 120;

function tone(sentiment) {
  if (sentiment > 0.15) return 'warm';
  if (sentiment < -0.15) return 'cold';
  return 'neutral';
}

/**
 * Characters on a circle around the player ("You"); an arrow per relationship, coloured by
 * sentiment and as thick as the familiarity. Directed pairs bend apart so both stay visible.
 */
export function drawRelationshipGraph(graph) {
  const positions = new Map([[null, { x: centre, y: centre }]]);
  graph.nodes.forEach((node, index) => {
    const angle = (2 * Math.PI * index) / Math.max(1, graph.nodes.length) - Math.PI / 2;
    positions.set(node.id, { x: centre + radius * Math.cos(angle), y: centre + radius * Math.sin(angle) });
  });
  const edges = graph.edges
    .filter((edge) => positions.has(edge.from) && positions.has(edge.to))
    .map((edge) => {
      const a = positions.get(edge.from);
      const b = positions.get(edge.to);
      const mx = (a.x + b.x) / 2 + (b.y - a.y) * 0.12;
      const my = (a.y + b.y) / 2 - (b.x - a.x) * 0.12;
      const target = edge.to === null ? 'you' : graph.nodes.find((n) => n.id === edge.to)?.name;
      const source = graph.nodes.find((n) => n.id === edge.from)?.name;
      return svg(
        'path',
        {
          d: `M${a.x},${a.y} Q${mx},${my} ${b.x},${b.y}`,
          class: `graph-edge ${tone(edge.sentiment)}`,
          'stroke-width': (1 + edge.familiarity * 5).toFixed(1),
          'marker-end': 'url(#arrow)',
        },
        svg('title', {}, `${source} → ${target}: ${edge.type}, sentiment ${edge.sentiment.toFixed(2)}, trust ${edge.trust.toFixed(2)}`),
      );
    });
  const nodes = [{ id: null, name: 'You', mood: '' }, ...graph.nodes].map((node) => {
    const { x, y } = positions.get(node.id);
    return svg(
      'g',
      { class: node.id === null ? 'graph-node player' : 'graph-node' },
      svg('title', {}, node.mood ? `${node.name} (${node.mood})` : node.name),
      svg('circle', { cx: x, cy: y, r: node.id === null ? 18 : 14 }),
      svg('text', { x, y: y + 30, 'text-anchor': 'middle' }, node.name),
    );
  });
  const defs = svg(
    'defs',
    {},
    svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 22, refY: 5, markerWidth: 5, markerHeight: 5, orient: 'auto-start-reverse' }, svg('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrow-head' })),
  );
  return svg('svg', { class: 'relationship-graph', width: size, height: size + 20, viewBox: `0 0 ${size} ${size + 20}`, role: 'img', 'aria-label': 'Relationship graph' }, defs, ...edges, ...nodes);
}
