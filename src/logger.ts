import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * The process-wide logger, configured once. It writes JSON to stderr so that stdout stays
 * free for command output (`--json`). Secrets are redacted by path.
 */
export function createLogger(level: string = 'info'): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      redact: {
        paths: ['authorization', 'req.headers.authorization', 'headers.authorization', 'apiKey', 'token', '*.apiKey', '*.token'],
        censor: '[redacted]',
      },
    },
    pino.destination(2),
  );
}

let rootLogger: Logger | undefined;

export function setLogger(logger: Logger): void {
  rootLogger = logger;
}

export function getLogger(): Logger {
  rootLogger ??= createLogger(process.env['LOG_LEVEL'] ?? 'warn');
  return rootLogger;
}
