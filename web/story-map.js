import { svg } from './dom.js';

const columnWidth = 44;
const rowHeight = 34;
const margin = 22;

/**
 * The scene tree as SVG: one column per depth, branches on their own rows, the head path
 * highlighted. Clicking a scene calls onSelect(scene) (the app offers to continue from there).
 */
export function drawStoryMap(tree, onSelect) {
  const children = new Map();
  for (const scene of tree.scenes) {
    const key = scene.parentSceneId ?? 'root';
    if (!children.has(key)) children.set(key, []);
    children.get(key).push(scene);
  }
  const position = new Map();
  let row = 0;
  // Depth-first: a scene sits on the row of its first child, so the path to each leaf reads straight.
  const place = (scene) => {
    const kids = children.get(scene.id) ?? [];
    kids.sort((a, b) => Number(b.onHeadPath) - Number(a.onHeadPath));
    if (kids.length === 0) position.set(scene.id, row++);
    else {
      kids.forEach(place);
      position.set(scene.id, position.get(kids[0].id));
    }
  };
  (children.get('root') ?? []).forEach(place);

  const depth = Math.max(1, ...tree.scenes.map((s) => s.sceneNumber));
  const width = margin * 2 + (depth - 1) * columnWidth;
  const height = margin * 2 + Math.max(0, row - 1) * rowHeight;
  const at = (scene) => ({ x: margin + (scene.sceneNumber - 1) * columnWidth, y: margin + position.get(scene.id) * rowHeight });
  const byId = new Map(tree.scenes.map((s) => [s.id, s]));

  const edges = tree.scenes
    .filter((s) => s.parentSceneId && byId.has(s.parentSceneId))
    .map((s) => {
      const a = at(byId.get(s.parentSceneId));
      const b = at(s);
      const midX = (a.x + b.x) / 2;
      return svg('path', {
        d: `M${a.x},${a.y} C${midX},${a.y} ${midX},${b.y} ${b.x},${b.y}`,
        class: s.onHeadPath ? 'map-edge on-path' : 'map-edge',
      });
    });
  const nodes = tree.scenes.map((scene) => {
    const { x, y } = at(scene);
    const classes = ['map-node', scene.onHeadPath ? 'on-path' : '', scene.id === tree.headSceneId ? 'head' : ''].join(' ').trim();
    const label = `Scene ${scene.sceneNumber}${scene.choiceNumber ? ` (choice ${scene.choiceNumber})` : ''}: ${scene.excerpt}`;
    return svg(
      'g',
      { class: classes, 'data-scene-id': scene.id, 'data-scene-number': scene.sceneNumber, tabindex: 0, role: 'button', 'aria-label': label, onclick: () => onSelect(scene), onkeydown: (e) => e.key === 'Enter' && onSelect(scene) },
      svg('title', {}, label),
      svg('circle', { cx: x, cy: y, r: 11 }),
      svg('text', { x, y: y + 4, 'text-anchor': 'middle' }, String(scene.sceneNumber)),
    );
  });
  return svg('svg', { class: 'story-map', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': 'Story map' }, ...edges, ...nodes);
}
