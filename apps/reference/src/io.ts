import { randomBytes } from 'node:crypto';
import { existsSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { QuantError } from '@quint/tensor';

// Temporary files still being written; removed on SIGINT so nothing half-written is left behind.
const pendingTemps = new Set<string>();

/** Removes every temporary file this process is still writing (called on interrupt). */
export function removePendingTemps(): void {
  for (const t of pendingTemps) rmSync(t, { force: true });
  pendingTemps.clear();
}

/**
 * Writes a file atomically: to a temporary file in the target folder, then renamed over the target.
 * An existing file is replaced whole; a missing folder is an error; nothing is ever half-written.
 */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const target = resolve(path);
  const dir = dirname(target);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new QuantError(
      'IO_ERROR',
      `cannot write ${path}: folder ${dirname(path)} does not exist; create it first or choose another --out.`,
    );
  }
  const temp = join(dir, `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  pendingTemps.add(temp);
  try {
    writeFileSync(temp, data);
    renameSync(temp, target);
  } catch (e) {
    rmSync(temp, { force: true });
    throw new QuantError('IO_ERROR', `cannot write ${path}: ${(e as Error).message}`, { cause: e });
  } finally {
    pendingTemps.delete(temp);
  }
}
