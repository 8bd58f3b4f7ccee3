// A PGlite data directory with every migration applied, made by `npm run build` (npm
// start runs it when stale): a first start copies it instead of running initdb in
// WebAssembly, most of a cold start (npm run bench, cold start). It is used only while it
// matches the migrations it was made from; otherwise the start makes its own as before.
import { createHash } from 'node:crypto';
import { existsSync, type Dirent } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import { projectRoot } from '../paths.ts';

export const templateDir = path.join(projectRoot, 'dist/pgdata-template');
const STAMP = 'template.json';

/** What a template must have been made from: the migration journal and the PGlite version. */
async function fingerprint(migrationsFolder: string): Promise<string> {
  const journal = await readFile(path.join(migrationsFolder, 'meta/_journal.json'));
  const pglite = await readFile(path.join(projectRoot, 'node_modules/@electric-sql/pglite/package.json'));
  return createHash('sha256').update(journal).update(pglite).digest('hex');
}

export async function isTemplateCurrent(migrationsFolder: string): Promise<boolean> {
  try {
    const stamp = JSON.parse(await readFile(path.join(templateDir, STAMP), 'utf8')) as { fingerprint?: string };
    return stamp.fingerprint === (await fingerprint(migrationsFolder));
  } catch {
    return false;
  }
}

/** Copies the template into `pgdataDir` when there is no database there yet and the template is current. */
export async function seedFromTemplate(pgdataDir: string, migrationsFolder: string): Promise<boolean> {
  if (existsSync(pgdataDir) || !(await isTemplateCurrent(migrationsFolder))) return false;
  // Copied beside it and renamed: a crash mid-copy leaves no half database behind.
  const scratch = `${pgdataDir}.seeding-${process.pid}`;
  await copyTree(path.join(templateDir, 'pgdata'), scratch);
  await rename(scratch, pgdataDir);
  return true;
}

/** Like fs.cp, but many files at once: a data directory is a thousand small files (fs.cp takes 2–3× longer). */
async function copyTree(from: string, to: string): Promise<void> {
  const entries = await readdir(from, { recursive: true, withFileTypes: true });
  const target = (entry: Dirent) => path.join(to, path.relative(from, path.join(entry.parentPath, entry.name)));
  await mkdir(to, { recursive: true });
  for (const directory of entries.filter((entry) => entry.isDirectory()).map(target).sort()) await mkdir(directory, { recursive: true });
  const limit = pLimit(16);
  await Promise.all(entries.filter((entry) => entry.isFile()).map((entry) => limit(() => copyFile(path.join(entry.parentPath, entry.name), target(entry)))));
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
  await writeFile(path.join(scratch, STAMP), JSON.stringify({ fingerprint: await fingerprint(migrationsFolder), builtAt: new Date().toISOString() }));
  await rm(templateDir, { recursive: true, force: true });
  await rename(scratch, templateDir);
}
