import type { EngineRuntime } from '../runtime.js';
import type { AuthGate } from './auth.js';
import type { InFlightRequests } from './in-flight-requests.js';
import type { InFlightTurns } from './in-flight-turns.js';
import type { ServerConfig } from './server-config.js';
import type { SseStreams } from './sse.js';
import type { StoryEventsRelay } from './story-events-relay.js';

/** What the routes share within one server process. */
export interface ServerContext {
  runtime: Pick<EngineRuntime, 'db' | 'deps' | 'log' | 'providerDescription' | 'providerNotice'>;
  config: ServerConfig;
  auth: AuthGate;
  relay: StoryEventsRelay;
  eventStreams: SseStreams;
  turns: InFlightTurns;
  requests: InFlightRequests;
  state: { shuttingDown: boolean };
}
