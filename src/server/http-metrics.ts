import { Counter, Gauge } from 'prom-client';
import { metricsRegistry } from '../metrics.js';

export const httpRequests = new Counter({
  name: 'livingworld_http_requests_total',
  help: 'HTTP requests answered, by method, route pattern and status',
  labelNames: ['method', 'route', 'status'] as const,
  registers: [metricsRegistry],
});

export const eventStreamClients = new Gauge({
  name: 'livingworld_event_stream_clients',
  help: 'Open story event streams (SSE) on this process',
  registers: [metricsRegistry],
});
