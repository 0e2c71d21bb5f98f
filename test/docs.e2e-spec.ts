import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ENV_VARIABLES } from 'nestjs-trusted-header';
import { STATUS_OF_REASON } from 'nestjs-trusted-header/building-blocks';

const root = fileURLToPath(new URL('..', import.meta.url));
const read = (file: string) => readFileSync(join(root, file), 'utf8');

/** The table rows of one `## ` section of a README. */
function tableRows(markdown: string, heading: string): string[] {
  const start = markdown.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`no section "## ${heading}"`);
  const end = markdown.indexOf('\n## ', start + 1);
  return markdown
    .slice(start, end < 0 ? undefined : end)
    .split('\n')
    .filter((line) => /^\| (`|\d)/.test(line));
}

/** The docs show the very proxy configurations the proxy tests run: a copy that drifts is a defect. */
describe('documentation', () => {
  it.each(['nginx.conf', 'Caddyfile', 'apache.conf'])(
    'docs/proxies/README.md shows docs/proxies/%s verbatim',
    (file) => {
      expect(read('docs/proxies/README.md')).toContain(read(`docs/proxies/${file}`));
    },
  );

  it.each(['nginx.conf', 'Caddyfile'])('README.md shows docs/proxies/%s verbatim', (file) => {
    expect(read('README.md')).toContain(read(`docs/proxies/${file}`));
  });
});

/** The README's environment and error tables are the contract: the repository's and the npm page's. */
describe.each(['README.md', 'libs/trusted-header/README.md'])('%s', (file) => {
  it('names every environment variable the package reads', () => {
    const readme = read(file);
    expect(Object.values(ENV_VARIABLES).filter((name) => !readme.includes(`\`${name}\``))).toEqual([]);
  });

  it('names every reason code the package answers with', () => {
    const readme = read(file);
    expect(Object.keys(STATUS_OF_REASON).filter((reason) => !readme.includes(`\`${reason}\``))).toEqual([]);
  });
});

describe('the npm page (libs/trusted-header/README.md)', () => {
  const page = read('libs/trusted-header/README.md');

  it.each(['Environment reference', 'Errors'])("shows the repository README's %s rows verbatim", (heading) => {
    // The repository's environment table also documents the reference app, which the package does not read.
    const rows = tableRows(read('README.md'), heading).filter(
      (row) => heading === 'Errors' || row.startsWith('| `AUTH_PROXY_'),
    );
    expect(rows.length).toBeGreaterThan(10);
    expect(tableRows(page, heading)).toEqual(rows);
  });

  it('installs every required peer in its install line', () => {
    const manifest = JSON.parse(read('libs/trusted-header/package.json'));
    const optional = new Set(Object.keys(manifest.peerDependenciesMeta ?? {}));
    const required = Object.keys(manifest.peerDependencies).filter((name) => !optional.has(name));
    const install = page.split('\n').find((line) => line.startsWith('npm i nestjs-trusted-header '))!;
    expect(install.split(' ').slice(3).sort()).toEqual(required.sort());
  });
});
