/** A Twine story as read from Twee 3 or Twine 2 HTML, before it becomes a LivingWorld story. */
export interface TwinePassage {
  name: string;
  tags: string[];
  /** The passage source, unescaped from its container format (still in the story format's markup). */
  text: string;
}

export interface TwineStory {
  name: string;
  ifid: string | null;
  format: string | null;
  formatVersion: string | null;
  /** The start passage's name, when the file names one. */
  start: string | null;
  passages: TwinePassage[];
  /** Story JavaScript and stylesheet outside passages (Twine 2 HTML), which are not carried over. */
  hasStoryScript: boolean;
  hasStoryStylesheet: boolean;
}
