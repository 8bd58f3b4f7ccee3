// `npm run build` (and npm start, first): whatever is stale of the browser client
// (web/dist), the server bundle (dist/server/main.mjs, run by npm start without a
// TypeScript loader) and the PGlite template (dist/pgdata-template). `--force` rebuilds all.
import { existsSync } from 'node:fs';
import { rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildWeb, newestMtime } from './build-web.ts';
import { buildTemplate, isTemplateCurrent } from '../src/db/pglite-template.ts';
import { migrationsFolder, projectRoot } from '../src/paths.ts';

export const serverBundle = path.join(projectRoot, 'dist/server/main.mjs');

async function isServerStale(): Promise<boolean> {
  if (!existsSync(serverBundle)) return true;
  return (await stat(serverBundle)).mtimeMs < (await newestMtime('src', 'package-lock.json'));
}

/** One ESM file of src/ with the packages left to node_modules (PGlite finds its WebAssembly there). */
async function buildServer(): Promise<void> {
  const { build } = await import('esbuild');
  await rm(path.dirname(serverBundle), { recursive: true, force: true });
  await build({
    entryPoints: [path.join(projectRoot, 'src/main.ts')],
    outdir: path.dirname(serverBundle),
    outExtension: { '.js': '.mjs' },
    // src/app.ts and what it imports are a chunk of their own, loaded while the database opens.
    splitting: true,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: true,
    logLevel: 'warning',
  });
}

export async function buildAll({ force = false } = {}): Promise<string[]> {
  const built: string[] = [];
  if (await buildWeb({ force, quiet: true })) built.push('web/dist');
  if (force || (await isServerStale())) {
    await buildServer();
    built.push('dist/server');
  }
  if (force || !isTemplateCurrent(migrationsFolder)) {
    await buildTemplate(migrationsFolder);
    built.push('dist/pgdata-template');
  }
  return built;
}

/**
 * What scripts/prestart.mjs checks before npm start, without a TypeScript loader: when
 * nothing here is newer than `newest` and every output exists, the build is skipped.
 */
const STAMP_INPUTS = ['src', 'drizzle', 'web/index.html', 'web/src', 'package-lock.json', 'scripts/build.ts', 'scripts/build-web.ts'];
const STAMP_OUTPUTS = ['dist/server/main.mjs', 'web/dist/index.html', 'dist/pgdata-template/template.json'];

// Read before building: a file saved during the build is newer than the stamp and builds next time.
const newest = await newestMtime(...STAMP_INPUTS);
const built = await buildAll({ force: process.argv.includes('--force') });
await writeFile(path.join(projectRoot, 'dist/build-stamp.json'), JSON.stringify({ inputs: STAMP_INPUTS, outputs: STAMP_OUTPUTS, newest }, null, 2));
console.log(built.length ? `built ${built.join(', ')}` : 'web/dist, dist/server and dist/pgdata-template are up to date');
