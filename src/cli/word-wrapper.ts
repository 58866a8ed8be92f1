/**
 * Wraps text at word boundaries as it arrives, for a stream that can only append: a word
 * is held back until it is complete (the next space or newline, or `end()`), then written
 * on the current line if it fits and on a new line if not. Nothing written is ever taken
 * back, so no escape sequence is needed to tidy up. The width is asked for before every
 * word, so a terminal resized mid-scene gets the new width from the next word on.
 */
export class WordWrapper {
  private column = 0;
  private word = '';
  /** A space is owed before the next word on this line. */
  private spacePending = false;

  constructor(
    private readonly write: (text: string) => void,
    private readonly width: () => number,
  ) {}

  push(text: string): void {
    for (const ch of text) {
      if (ch === '\n') {
        this.flushWord();
        this.write('\n');
        this.column = 0;
        this.spacePending = false;
      } else if (ch === '\r') {
        continue;
      } else if (/\s/.test(ch)) {
        this.flushWord();
        if (this.column > 0) this.spacePending = true;
      } else {
        this.word += ch;
      }
    }
  }

  /** Writes the word still held back; the line stays open. */
  end(): void {
    this.flushWord();
  }

  /** Whether the cursor is at the start of a line (nothing written since the last newline). */
  get atLineStart(): boolean {
    return this.column === 0 && this.word === '';
  }

  private flushWord(): void {
    if (this.word === '') return;
    const width = Math.max(1, this.width());
    let chars = [...this.word];
    this.word = '';
    const needed = (this.spacePending ? 1 : 0) + chars.length;
    if (this.column > 0 && this.column + needed > width) {
      this.write('\n');
      this.column = 0;
      this.spacePending = false;
    }
    if (this.spacePending) {
      this.write(' ');
      this.column += 1;
      this.spacePending = false;
    }
    // Only a word longer than a whole line is broken, at the line's end.
    while (this.column + chars.length > width) {
      const room = width - this.column;
      this.write(chars.slice(0, room).join(''));
      this.write('\n');
      this.column = 0;
      chars = chars.slice(room);
    }
    this.write(chars.join(''));
    this.column += chars.length;
  }
}
