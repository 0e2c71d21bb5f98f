// Writes a CommonJS twin (.d.cts) of every declaration file in dist/, for the `default` (require) condition.
//
// The package is one ES module build, which Node >= 20.19 also loads through require(). TypeScript, though,
// reads a .d.ts file of a "type": "module" package as ESM and refuses it in a CommonJS file under
// `module: node16` (TS1479); `nodenext` accepts it. Declarations that say CommonJS describe what require()
// returns here (the module namespace: named exports, no default export), so CommonJS consumers type-check
// under every module setting. Relative specifiers move to .cjs so that each twin imports twins: TypeScript
// maps `./x.cjs` to `./x.d.cts`. Nothing at run time loads a .cjs file.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dist = new URL('../dist/', import.meta.url).pathname;
const relativeJs = /(['"])(\.\.?\/[^'"]*?)\.js\1/g;

let written = 0;
for (const entry of readdirSync(dist, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith('.d.ts')) continue;
  const file = join(entry.parentPath, entry.name);
  const source = readFileSync(file, 'utf8');
  if (/^export default |^export =/m.test(source)) {
    throw new Error(`${file}: a default export means something else to require(); the twin would lie`);
  }
  writeFileSync(file.replace(/\.d\.ts$/, '.d.cts'), source.replace(relativeJs, '$1$2.cjs$1'));
  written += 1;
}
if (written === 0) throw new Error(`no declaration files in ${dist}; run tsc first`);
