import type { Queryable } from '../db/index.js';
import type { StructuredOutput } from './provider.js';

/**
 * Where providers remember what a server supports (the structured-output fallback), shared
 * by every process on the database. A missing or unreadable database just means asking again.
 */
export interface CapabilityStore {
  loadStructuredOutput(endpoint: string, model: string): Promise<StructuredOutput | undefined>;
  saveStructuredOutput(endpoint: string, model: string, level: StructuredOutput): Promise<void>;
}

export function createCapabilityStore(db: Queryable): CapabilityStore {
  return {
    async loadStructuredOutput(endpoint, model) {
      const { rows } = await db.query<{ structured_output: StructuredOutput }>(
        `SELECT structured_output FROM model_capabilities WHERE endpoint = $1 AND model = $2`,
        [endpoint, model],
      );
      return rows[0]?.structured_output;
    },
    async saveStructuredOutput(endpoint, model, level) {
      await db.query(
        `INSERT INTO model_capabilities (endpoint, model, structured_output) VALUES ($1, $2, $3)
         ON CONFLICT (endpoint, model) DO UPDATE SET structured_output = EXCLUDED.structured_output, learned_at = now()`,
        [endpoint, model, level],
      );
    },
  };
}
