// Writes drizzle/ from src/db/schema with drizzle-kit: one new migration per schema change.
// Databases made by earlier versions exist (every `npm start` made one), so the applied
// migrations are never rewritten; `--baseline` (all in one) is for an empty project only.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
if (process.argv.includes('--baseline')) rmSync(path.join(root, 'drizzle'), { recursive: true, force: true });
execFileSync('npx', ['drizzle-kit', 'generate', '--name', process.argv.includes('--baseline') ? 'baseline' : 'change'], {
  cwd: root,
  stdio: 'inherit',
});
