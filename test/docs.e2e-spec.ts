import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const read = (file: string) => readFileSync(join(root, file), 'utf8');

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
