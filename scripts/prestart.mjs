// npm start's first step. Plain JavaScript, so an up-to-date checkout starts without loading
// a TypeScript compiler: when nothing listed in dist/build-stamp.json (written by
// scripts/build.ts) is newer than the last build and every output exists, there is nothing
// to do; otherwise `npm run build` decides what is stale and builds it.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// newestMtime of scripts/build-web.ts, again here: this file must run without a TypeScript loader.
function newestMtime(entry) {
  const info = statSync(entry);
  if (!info.isDirectory()) return info.mtimeMs;
  return readdirSync(entry).reduce((newest, child) => Math.max(newest, newestMtime(path.join(entry, child))), 0);
}

function isUpToDate() {
  try {
    const stamp = JSON.parse(readFileSync(path.join(root, 'dist/build-stamp.json'), 'utf8'));
    if (!stamp.outputs.every((output) => existsSync(path.join(root, output)))) return false;
    return stamp.inputs.every((input) => newestMtime(path.join(root, input)) <= stamp.newest);
  } catch {
    return false;
  }
}

if (!isUpToDate()) {
  const build = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'scripts/build.ts')], { stdio: 'inherit', cwd: root });
  process.exit(build.status ?? 1);
}
