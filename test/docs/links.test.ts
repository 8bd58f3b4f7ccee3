// Every relative link in README.md and docs/*.md points at a file that exists and, with a
// #fragment, at a heading that exists in it (slugged as GitHub does), so no doc link breaks.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import GithubSlugger from 'github-slugger';
import t from 'tap';

const root = path.resolve(import.meta.dirname, '../..');
const documents = ['README.md', ...readdirSync(path.join(root, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];

/** The text without fenced code blocks and inline code, where brackets are not links. */
function prose(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
}

function anchorsOf(file: string): Set<string> {
  const slugger = new GithubSlugger();
  const headings = readFileSync(file, 'utf8').replace(/^```[\s\S]*?^```/gm, '').match(/^#{1,6} .+$/gm) ?? [];
  return new Set(headings.map((heading) => slugger.slug(heading.replace(/^#+ /, '').trim())));
}

function linksOf(markdown: string): string[] {
  const links: string[] = [];
  for (const match of prose(markdown).matchAll(/\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) links.push(match[1]);
  return links;
}

t.test('the docs exist that the README promises', async (t) => {
  for (const name of ['api.md', 'security.md', 'operations.md', 'realtime.md', 'benchmarks.md', 'architecture.md']) {
    t.ok(existsSync(path.join(root, 'docs', name)), `docs/${name}`);
  }
});

for (const document of documents) {
  t.test(`links in ${document} resolve`, async (t) => {
    const source = path.join(root, document);
    const links = linksOf(readFileSync(source, 'utf8')).filter((link) => !/^[a-z][a-z0-9+.-]*:/i.test(link));
    for (const link of links) {
      const [target, fragment] = link.split('#', 2);
      const file = target ? path.resolve(path.dirname(source), decodeURI(target)) : source;
      t.ok(file.startsWith(root) && existsSync(file), `${document}: ${link} names a file in the repository`);
      if (fragment && existsSync(file) && statSync(file).isFile() && file.endsWith('.md')) {
        t.ok(anchorsOf(file).has(fragment), `${document}: ${link} names a heading of ${path.relative(root, file)}`);
      }
    }
    if (links.length === 0) t.pass(`${document} has no relative links`);
  });
}
