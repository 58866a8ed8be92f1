// extwee ships declarations under types/ but its package.json does not point at them.
declare module 'extwee' {
  export interface Passage {
    name: string;
    tags: string[];
    metadata: Record<string, unknown>;
    text: string;
  }
  export interface Story {
    name: string;
    IFID: string;
    start: string;
    format: string;
    formatVersion: string;
    passages: Passage[];
    getPassageByName(name: string): Passage | null;
    getPassagesByTag(tag: string): Passage[];
  }
  export function parseTwee(fileContents: string): Story;
}
