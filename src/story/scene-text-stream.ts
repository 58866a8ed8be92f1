/**
 * Turns a model's raw stream into the scene prose as it is written: for a JSON answer the
 * decoded value of its "scene" string, for a prose answer the text up to the list of choices.
 */
export function createSceneTextStream(onText: (text: string) => void): (chunk: string) => void {
  let buffer = '';
  let mode: 'undecided' | 'json' | 'prose' | 'done' = 'undecided';
  let sceneValueStart = -1;
  let emittedUpTo = 0;
  let proseEmitted = 0;

  const choiceListStart = /(^|\n)\s*(?:[-*]\s*)?(?:\*\*)?\s*(?:choices?|options?)?\s*(?:\*\*)?\s*(?:1[.):]|choice 1|option 1|what do you do)/i;

  function decodeJsonString(from: number): { text: string; end: number; closed: boolean } {
    let text = '';
    let i = from;
    while (i < buffer.length) {
      const ch = buffer[i]!;
      if (ch === '"') return { text, end: i, closed: true };
      if (ch === '\\') {
        if (i + 1 >= buffer.length) break;
        const esc = buffer[i + 1]!;
        if (esc === 'u') {
          if (i + 6 > buffer.length) break;
          text += String.fromCharCode(parseInt(buffer.slice(i + 2, i + 6), 16));
          i += 6;
          continue;
        }
        text += ({ n: '\n', t: '\t', r: '', b: '', f: '' } as Record<string, string>)[esc] ?? esc;
        i += 2;
        continue;
      }
      text += ch;
      i++;
    }
    return { text, end: i, closed: false };
  }

  return (chunk: string) => {
    if (mode === 'done') return;
    buffer += chunk;
    if (mode === 'undecided') {
      const start = buffer.trimStart();
      if (start.length === 0) return;
      if (start.startsWith('{') || start.startsWith('```')) mode = 'json';
      else if (start.length > 8 || /[a-z]/i.test(start[0] ?? '')) mode = 'prose';
      else return;
    }
    if (mode === 'json') {
      if (sceneValueStart < 0) {
        const match = /"(?:scene|text|story)"\s*:\s*"/.exec(buffer);
        if (!match) return;
        sceneValueStart = match.index + match[0].length;
      }
      const decoded = decodeJsonString(sceneValueStart);
      if (decoded.text.length > emittedUpTo) {
        onText(decoded.text.slice(emittedUpTo));
        emittedUpTo = decoded.text.length;
      }
      if (decoded.closed) mode = 'done';
      return;
    }
    // Prose: hold back the last line, which may turn out to start the list of choices.
    const listMatch = choiceListStart.exec(buffer);
    const safeEnd = listMatch ? listMatch.index : Math.max(proseEmitted, buffer.lastIndexOf('\n'));
    if (safeEnd > proseEmitted) {
      onText(buffer.slice(proseEmitted, safeEnd));
      proseEmitted = safeEnd;
    }
    if (listMatch) mode = 'done';
  };
}
