import { type Logger, pino } from 'pino';

export type { Logger };

/** Keys whose values never reach a log line, however deep in an object they sit. */
const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  '*.password',
  '*.token',
  '*.totp',
  '*.secret',
  '*.recoveryCode',
];

export function createLogger(level = 'info'): Logger {
  return pino({ level, redact: { paths: REDACT, censor: '[redacted]' } });
}
