// The Prometheus registry of this process and the metrics every area shares; areas add theirs to it.
import client from 'prom-client';

export type Metrics = {
  registry: client.Registry;
  httpDuration: client.Histogram<'method' | 'route' | 'status'>;
  eventsAppended: client.Counter<'stream_category'>;
};

export const createMetrics = (): Metrics => {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'remotemcp_', eventLoopMonitoringPrecision: 20 });
  return {
    registry,
    httpDuration: new client.Histogram({
      name: 'remotemcp_http_request_duration_seconds',
      help: 'HTTP requests by route template, method and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers: [registry],
    }),
    eventsAppended: new client.Counter({
      name: 'remotemcp_events_appended_total',
      help: 'Events appended to the log, by stream category (the stream name before its first dash)',
      labelNames: ['stream_category'],
      registers: [registry],
    }),
  };
};
