// Mail and page templates laid out like Sydent's: <TEMPLATES_DIR>/<brand>/<name>.
// `.j2` files are Jinja templates (nunjucks, autoescaped like Sydent's environment);
// other files use Python's %(name)s substitution, as Sydent's verify_response_template.html.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import nunjucks from 'nunjucks';

export class Templates {
  private readonly environment: nunjucks.Environment;

  constructor(
    readonly directory: string,
    readonly brand: string,
  ) {
    this.environment = new nunjucks.Environment(new nunjucks.FileSystemLoader(directory, { noCache: false }), { autoescape: true });
  }

  private file(name: string): string {
    // A brand is one folder name, never a path.
    return `${path.basename(this.brand)}/${name}`;
  }

  /** A Jinja template of the brand. */
  render(name: string, variables: Record<string, unknown>): Promise<string> {
    return new Promise((resolve, reject) =>
      this.environment.render(this.file(name), variables, (error, result) => (error ? reject(error) : resolve(result ?? ''))),
    );
  }

  /** A Python %-format template of the brand: `%(name)s` is replaced, `%%` is a percent sign. */
  async renderPercent(name: string, variables: Record<string, string>): Promise<string> {
    const text = await readFile(path.join(this.directory, this.file(name)), 'utf8');
    return text.replace(/%\((\w+)\)s|%%/g, (match, key: string | undefined) => (key === undefined ? '%' : (variables[key] ?? '')));
  }
}
