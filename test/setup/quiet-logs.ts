import { pino } from 'pino';
import { setLogger } from '../../src/logger.js';

// In-process logs stay quiet in tests unless asked for (TEST_LOG_LEVEL=debug); child
// processes the tests start keep their own LOG_LEVEL.
setLogger(pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' }));
