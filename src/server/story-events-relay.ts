import type { Database } from '../db/index.js';
import type { Logger } from '../logger.js';
import { eventsChannel, type StoryEvent } from '../story/engine-deps.js';
import { getSceneView, type SceneView } from '../story/scene-view.js';
import { isUuid } from '../story/story-repo.js';

/** A story event as watchers receive it: scene and head events carry the scene, loaded once per process. */
export type RelayedEvent = StoryEvent & { scene?: SceneView };

export interface StoryEventsRelay {
  /** `onMissed` runs when events may have been lost (the LISTEN connection was re-established). */
  subscribe(storyId: string, listener: (event: RelayedEvent) => void, onMissed?: () => void): () => void;
  subscriberCount(): number;
  close(): Promise<void>;
}

function parseEvent(payload: string): StoryEvent | undefined {
  try {
    const event = JSON.parse(payload) as StoryEvent;
    return event && typeof event === 'object' && isUuid(event.storyId) ? event : undefined;
  } catch {
    return undefined;
  }
}

/**
 * One LISTEN per process on the events channel, fanned out in-process to everyone watching a
 * story; a turn committed by any process sharing the database reaches the watchers here.
 */
export async function startStoryEventsRelay(db: Database, log: Logger): Promise<StoryEventsRelay> {
  const watchers = new Map<string, Set<(event: RelayedEvent) => void>>();
  const missedHandlers = new Set<() => void>();
  // Events are relayed one at a time so that a story's scene, head and turn events keep their order.
  let queue: Promise<void> = Promise.resolve();

  async function relay(event: StoryEvent): Promise<void> {
    const listeners = watchers.get(event.storyId);
    if (!listeners || listeners.size === 0) return;
    let relayed: RelayedEvent = event;
    if (event.type === 'scene' || event.type === 'head') {
      const scene = await getSceneView(db, event.storyId, event.sceneId).catch((error: unknown) => {
        log.warn({ err: error, storyId: event.storyId }, 'could not load the scene of a story event');
        return undefined;
      });
      if (scene) relayed = { ...event, scene };
    }
    for (const listener of [...listeners]) {
      try {
        listener(relayed);
      } catch (error) {
        log.warn({ err: error }, 'a story event listener failed');
      }
    }
  }

  const unlisten = await db.listen(eventsChannel, (payload) => {
    const event = parseEvent(payload);
    if (!event) return;
    // One failed relay must not break the chain for every later event.
    queue = queue.then(() => relay(event)).catch((error: unknown) => log.warn({ err: error }, 'could not relay a story event'));
  }, () => {
    log.warn({ watchers: missedHandlers.size }, 'story events may have been missed while LISTEN reconnected; streams catch up');
    // Queued behind the events already received, so a catch-up never overtakes them.
    queue = queue.then(() => {
      for (const onMissed of [...missedHandlers]) onMissed();
    });
  });

  return {
    subscribe(storyId, listener, onMissed) {
      let listeners = watchers.get(storyId);
      if (!listeners) watchers.set(storyId, (listeners = new Set()));
      listeners.add(listener);
      if (onMissed) missedHandlers.add(onMissed);
      return () => {
        if (onMissed) missedHandlers.delete(onMissed);
        listeners.delete(listener);
        if (listeners.size === 0) watchers.delete(storyId);
      };
    },
    subscriberCount() {
      let count = 0;
      for (const listeners of watchers.values()) count += listeners.size;
      return count;
    },
    async close() {
      watchers.clear();
      missedHandlers.clear();
      await unlisten().catch(() => {});
      await queue;
    },
  };
}
