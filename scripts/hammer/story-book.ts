/**
 * What the clients know and what they were promised: the stories, their last seen heads and
 * characters, every scene acknowledged with a 201, and the rewinds that did or may have
 * moved a head (for the version check).
 */

export interface KnownStory {
  id: string;
  title: string;
  hot: boolean;
  imported: boolean;
  headSceneId: string | null;
  characterIds: string[];
  /** Rewinds and status changes (archive, unarchive) acknowledged: each moves the version once. */
  rewindsAcknowledged: number;
  /** Rewinds and status changes whose outcome the client never heard (connection lost, timeout, 5xx). */
  rewindsUnknown: number;
  /**
   * A client is archiving it and will make it active again. One at a time: a second archive of
   * an archived story is answered 200 without a change, which the version count cannot tell.
   */
  archiving?: boolean;
}

export interface AcknowledgedScene {
  storyId: string;
  sceneId: string;
  op: string;
  /** For an advance from a known scene: the new scene must hang under it with this choice. */
  expectedParentId: string | undefined;
  expectedChoice: number | undefined;
  idempotencyKey: string | undefined;
  incarnation: string;
}

/** A keyed write and the mark its effect leaves (a title, a message): at most one effect may carry it. */
export interface KeyedWrite {
  kind: 'create-story' | 'import' | 'talk';
  /** The title (create-story), the file's SHA-256 (import, kept as stories.import_hash) or the message's mark (talk). */
  text: string;
  /** Talk: the story talked in (an import elsewhere copies its memories, mark included). */
  storyId?: string;
  key: string;
  /** Sends of the same request with the same key (more than one: retried after an unknown outcome). */
  attempts: number;
  acknowledged: boolean;
}

export class StoryBook {
  readonly stories = new Map<string, KnownStory>();
  readonly acknowledged: AcknowledgedScene[] = [];
  /** Idempotency key → the scene its first 201 carried; a later 201 must carry the same. */
  readonly sceneByKey = new Map<string, string>();
  /** How 201 turn answers came about: generated, joined, replayed. */
  readonly how = new Map<string, number>();
  readonly keyedWrites: KeyedWrite[] = [];
  /** While a story was archived (between the archive's answer and the unarchive request), no scene may be written. */
  readonly archiveWindows: { storyId: string; fromMs: number; toMs: number }[] = [];
  /** Turn requests whose client went away before the answer. */
  leftMidTurn = 0;
  #titleCounter = 0;

  constructor(private readonly runLabel: string) {}

  nextTitle(kind: string): string {
    return `Hammer ${this.runLabel} ${kind} ${++this.#titleCounter}`;
  }

  add(story: Omit<KnownStory, 'characterIds' | 'rewindsAcknowledged' | 'rewindsUnknown'>): KnownStory {
    const known: KnownStory = { ...story, characterIds: [], rewindsAcknowledged: 0, rewindsUnknown: 0 };
    this.stories.set(story.id, known);
    return known;
  }

  hot(): KnownStory[] {
    return [...this.stories.values()].filter((s) => s.hot);
  }

  cold(): KnownStory[] {
    return [...this.stories.values()].filter((s) => !s.hot);
  }

  sawHead(storyId: string, headSceneId: unknown): void {
    const story = this.stories.get(storyId);
    if (story && typeof headSceneId === 'string') story.headSceneId = headSceneId;
  }

  sawCharacters(storyId: string, ids: string[]): void {
    const story = this.stories.get(storyId);
    if (story && ids.length > 0) story.characterIds = ids;
  }
}
