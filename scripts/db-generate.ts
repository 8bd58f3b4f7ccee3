// Writes drizzle/ from src/db/schema with drizzle-kit. Until the first release the
// migrations are regenerated as one baseline (`--baseline`), so parallel schema work
// does not pile up ALTERs; after it, plain `drizzle-kit generate` adds one migration.
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
