// The project's folders, found from this module whether it runs from src/ (tsx, tests) or
// bundled into dist/ (npm start): the folder that holds package.json.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findProjectRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`No package.json above ${from}`);
  }
}

export const projectRoot = findProjectRoot(path.dirname(fileURLToPath(import.meta.url)));

/** drizzle-kit's migrations, applied at start-up. */
export const migrationsFolder = path.join(projectRoot, 'drizzle');
