// A PGlite data directory with every migration applied, made by `npm run build` (npm
// start runs it when stale): a first start copies it instead of running initdb in
// WebAssembly, most of a cold start (npm run bench, cold start). It is used only while it
// matches the migrations it was made from; otherwise the start makes its own as before.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { projectRoot } from '../paths.ts';

const templateDir = path.join(projectRoot, 'dist/pgdata-template');
const STAMP = 'template.json';

/** What a template must have been made from: the migration journal and the PGlite version. */
function fingerprint(migrationsFolder: string): string {
  const journal = readFileSync(path.join(migrationsFolder, 'meta/_journal.json'));
  const pglite = readFileSync(path.join(projectRoot, 'node_modules/@electric-sql/pglite/package.json'));
  return createHash('sha256').update(journal).update(pglite).digest('hex');
}

export function isTemplateCurrent(migrationsFolder: string): boolean {
  try {
    const stamp = JSON.parse(readFileSync(path.join(templateDir, STAMP), 'utf8')) as { fingerprint?: string };
    return stamp.fingerprint === fingerprint(migrationsFolder);
  } catch {
    return false;
  }
}

/**
 * Copies the template into `pgdataDir` when there is no database there yet and the template
 * is current. The check and the start of the copy are synchronous, so the copy is under way
 * (in a worker thread) before the caller goes on to load the server's modules (main.ts).
 */
export async function seedFromTemplate(pgdataDir: string, migrationsFolder: string): Promise<boolean> {
  if (existsSync(pgdataDir) || !isTemplateCurrent(migrationsFolder)) return false;
  // Copied beside it and renamed: a crash mid-copy leaves no half database behind.
  const scratch = `${pgdataDir}.seeding-${process.pid}`;
  try {
    await copyInWorker(path.join(templateDir, 'pgdata'), scratch);
    await rename(scratch, pgdataDir);
  } catch (error) {
    await rm(scratch, { recursive: true, force: true });
    throw error;
  }
  return true;
}

// Plain CommonJS evaluated by the worker: it needs no loader, under tsx or the bundle alike.
const COPY_TREE = `
const { cpSync, rmSync } = require('node:fs');
const { workerData } = require('node:worker_threads');
rmSync(workerData.to, { recursive: true, force: true });
cpSync(workerData.from, workerData.to, { recursive: true });
`;

/** A data directory is ~40 MB in a thousand files: copied on another thread while this one works. */
function copyInWorker(from: string, to: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(COPY_TREE, { eval: true, workerData: { from, to } });
    worker.once('error', reject);
    worker.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`copying the PGlite template exited with ${code}`))));
  });
}

/** Makes the template (initdb and every migration), replacing any older one. */
export async function buildTemplate(migrationsFolder: string): Promise<void> {
  const scratch = `${templateDir}.building-${process.pid}`;
  await rm(scratch, { recursive: true, force: true });
  await mkdir(scratch, { recursive: true });
  // Loaded only to build: npm start's staleness check stays quick.
  const [{ PGlite }, { drizzle }, { migrate }, schema] = await Promise.all([
    import('@electric-sql/pglite'),
    import('drizzle-orm/pglite'),
    import('drizzle-orm/pglite/migrator'),
    import('./schema/index.ts'),
  ]);
  const pglite = new PGlite(path.join(scratch, 'pgdata'));
  try {
    await migrate(drizzle({ client: pglite, schema }), { migrationsFolder });
  } finally {
    await pglite.close();
  }
  await writeFile(path.join(scratch, STAMP), JSON.stringify({ fingerprint: fingerprint(migrationsFolder), builtAt: new Date().toISOString() }));
  await rm(templateDir, { recursive: true, force: true });
  await rename(scratch, templateDir);
}
