import type { SceneView } from '../story/scene-view.js';

const useColor = process.stdout.isTTY && !process.env['NO_COLOR'];
export const style = {
  bold: (s: string) => (useColor ? `\x1b[1m${s}\x1b[22m` : s),
  dim: (s: string) => (useColor ? `\x1b[2m${s}\x1b[22m` : s),
  cyan: (s: string) => (useColor ? `\x1b[36m${s}\x1b[39m` : s),
  yellow: (s: string) => (useColor ? `\x1b[33m${s}\x1b[39m` : s),
  red: (s: string) => (useColor ? `\x1b[31m${s}\x1b[39m` : s),
};

/** Wraps prose to the terminal width without breaking words. */
export function wrap(text: string, width = Math.min(process.stdout.columns || 88, 100)): string {
  return text
    .split('\n')
    .map((paragraph) => {
      const words = paragraph.split(/\s+/).filter(Boolean);
      const lines: string[] = [];
      let line = '';
      for (const word of words) {
        if (line && line.length + 1 + word.length > width) {
          lines.push(line);
          line = word;
        } else {
          line = line ? `${line} ${word}` : word;
        }
      }
      if (line) lines.push(line);
      return lines.join('\n');
    })
    .join('\n');
}

export function renderChoices(scene: SceneView): string {
  return scene.choices.map((choice) => `  ${style.bold(`${choice.number}.`)} ${choice.content}`).join('\n');
}

export function renderSceneHeader(scene: SceneView): string {
  const source = scene.offline ? 'offline storyteller' : `${scene.provider ?? 'model'} ${scene.model ?? ''}`.trim();
  return style.dim(`— Scene ${scene.sceneNumber} · ${source} —`);
}

/** The whole scene as the terminal shows it. */
export function renderScene(scene: SceneView, options: { includeProse?: boolean } = {}): string {
  const parts = [renderSceneHeader(scene)];
  if (options.includeProse !== false) parts.push(wrap(scene.content));
  const present = scene.characters.filter((c) => c.role === 'present').map((c) => c.name);
  if (present.length > 0) parts.push(style.dim(`Here: ${present.join(', ')}`));
  parts.push(renderChoices(scene));
  return parts.join('\n\n');
}
