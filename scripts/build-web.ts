// Builds the browser client (web/) into web/dist with Vite, unless web/dist is newer than
// every source file. `npm start` runs it first (prestart); the browser tests call buildWeb().
import { existsSync } from 'node:fs';
import { readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { brotliCompress, constants as zlibConstants, gzip } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { projectRoot } from '../src/paths.ts';

export const webDir = path.join(projectRoot, 'web');
export const webDist = path.join(webDir, 'dist');

/** Newest modification time among these files and everything under these folders (paths from the project root). */
export async function newestMtime(...entries: string[]): Promise<number> {
  let newest = 0;
  const visit = async (entry: string) => {
    const info = await stat(entry);
    if (!info.isDirectory()) return void (newest = Math.max(newest, info.mtimeMs));
    for (const child of await readdir(entry)) await visit(path.join(entry, child));
  };
  for (const entry of entries) await visit(path.join(projectRoot, entry));
  return newest;
}

export async function isWebStale(): Promise<boolean> {
  const built = path.join(webDist, 'index.html');
  if (!existsSync(built)) return true;
  // This script counts as a source: a changed build setting (source maps) rebuilds.
  return (await stat(built)).mtimeMs < (await newestMtime('web/index.html', 'web/src', 'web/public', 'scripts/build-web.ts'));
}

/** Text-like files worth compressing (images and fonts are compressed already). */
const COMPRESSIBLE = /\.(?:js|mjs|css|html|svg|json|txt|wasm)$/;

/**
 * `<file>.br` and `<file>.gz` beside every compressible file over 1 KiB, at the highest levels
 * (paid once here, not per request): src/http/web-client.ts serves them to clients that accept them.
 */
export async function precompress(folder: string): Promise<void> {
  for (const entry of await readdir(folder, { recursive: true, withFileTypes: true })) {
    const file = path.join(entry.parentPath, entry.name);
    if (!entry.isFile() || !COMPRESSIBLE.test(entry.name)) continue;
    const content = await readFile(file);
    if (content.length < 1024) continue;
    const [br, gz] = await Promise.all([
      promisify(brotliCompress)(content, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: zlibConstants.BROTLI_MAX_QUALITY, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: content.length } }),
      promisify(gzip)(content, { level: 9 }),
    ]);
    await writeFile(`${file}.br`, br);
    await writeFile(`${file}.gz`, gz);
  }
}

/** Builds into a scratch folder and swaps it in, so a server never serves half a build. */
export async function buildWeb({ force = false, quiet = false } = {}): Promise<boolean> {
  if (!force && !(await isWebStale())) return false;
  const scratch = path.join(webDir, `.dist-${process.pid}`);
  // Loaded only to build: the staleness check (every npm start) stays quick.
  const { build } = await import('vite');
  await build({
    configFile: false,
    root: webDir,
    base: '/',
    logLevel: quiet ? 'warn' : 'info',
    esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
    // No source maps in production: the client's source is not published.
    build: { outDir: scratch, emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 1000 },
  });
  await precompress(scratch);
  // Two renames: the old build is never half deleted while a server reads the folder.
  const old = path.join(webDir, `.dist-old-${process.pid}`);
  if (existsSync(webDist)) await rename(webDist, old);
  await rename(scratch, webDist);
  await rm(old, { recursive: true, force: true });
  return true;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const force = process.argv.includes('--force');
  buildWeb({ force }).then(
    (built) => {
      if (!built) console.log('web/dist is up to date');
    },
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
