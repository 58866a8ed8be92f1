import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AppError } from '../errors.js';

interface LockOwner {
  pid: number;
  hostname: string;
  startedAt: string;
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readOwner(lockPath: string): LockOwner | undefined {
  try {
    return JSON.parse(fs.readFileSync(lockPath, 'utf8')) as LockOwner;
  } catch {
    return undefined;
  }
}

/**
 * PGlite does not lock its data directory, and two processes writing one directory corrupt
 * it. An exclusive-create lock file naming its owner guards it; a lock left by a dead process
 * on this host is taken over.
 */
export function lockDataDir(dataDir: string): () => void {
  fs.mkdirSync(dataDir, { recursive: true });
  const lockPath = path.join(dataDir, 'livingworld.lock');
  const me: LockOwner = { pid: process.pid, hostname: os.hostname(), startedAt: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(lockPath, JSON.stringify(me), { flag: 'wx' });
      return () => {
        const owner = readOwner(lockPath);
        if (owner?.pid === me.pid) fs.rmSync(lockPath, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = readOwner(lockPath);
    const ownerIsAlive = owner !== undefined && (owner.hostname !== me.hostname || isProcessAlive(owner.pid));
    if (owner !== undefined && ownerIsAlive) {
      throw new AppError(
        'database_locked',
        `The embedded database in ${dataDir} is in use by process ${owner.pid} on ${owner.hostname} (since ${owner.startedAt}). ` +
          'Stop that process, or set DATABASE_URL to a PostgreSQL server to run several processes.',
        { details: { pid: owner.pid, hostname: owner.hostname } },
      );
    }
    // Stale (owner dead) or half-written lock: remove it and try again.
    fs.rmSync(lockPath, { force: true });
  }
  throw new AppError('database_locked', `Could not lock the embedded database in ${dataDir}; another process keeps taking it.`);
}
