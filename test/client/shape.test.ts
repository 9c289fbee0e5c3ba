/**
 * Code shape the browser build and the layering depend on: src/client (bundled by Vite for the
 * console) and auth/canonical.ts use no Node API; src/client and src/cli reach nothing of the
 * server (store, engine, http, redis, …), only each other and the isomorphic auth helper.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../src');
const filesIn = (dir: string) => fs.readdirSync(path.join(SRC, dir)).filter((f) => f.endsWith('.ts')).map((f) => path.join(dir, f));
const read = (f: string) => fs.readFileSync(path.join(SRC, f), 'utf8');
const importsOf = (text: string) => [...text.matchAll(/(?:import|export)[^'";]*?from\s+'([^']+)'|import\s*\(?\s*'([^']+)'/g)].map((m) => m[1] ?? m[2]!);

test('src/client and auth/canonical.ts: no node: imports, no Buffer, no process', () => {
  const files = [...filesIn('client'), 'auth/canonical.ts'];
  assert.ok(files.length >= 6);
  for (const f of files) {
    const text = read(f).replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, ''); // comments may mention them
    for (const spec of importsOf(text)) assert.ok(spec.startsWith('.'), `${f} imports ${spec}`);
    assert.doesNotMatch(text, /\bBuffer\b/, `${f} uses Buffer`);
    assert.doesNotMatch(text, /\bprocess\./, `${f} uses process`);
    assert.doesNotMatch(text, /\brequire\(/, `${f} uses require`);
  }
});

/** `import type` / `export type` statements: erased at compile time, so no server code is bundled. */
const typeOnlyImportsOf = (text: string) => new Set([...text.matchAll(/(?:import|export)\s+type\s+[^'";]*?from\s+'([^']+)'/g)].map((m) => m[1]!));

test('src/client and src/cli import only src/client and auth/canonical.ts from this project (types of operation requests excepted)', () => {
  const allowed = new Set(['client', 'auth/canonical.ts']);
  // The request bodies of operations are typed once, in their modules; the client re-exports
  // those types (type-only) instead of keeping a second copy.
  const typesFrom = ['operations/', 'instances/rules.ts', 'instances/schemas.ts', 'records/records.ts'];
  for (const f of [...filesIn('client'), ...filesIn('cli')]) {
    const typeOnly = typeOnlyImportsOf(read(f));
    for (const spec of importsOf(read(f))) {
      if (!spec.startsWith('.')) continue;
      const target = path.relative(SRC, path.resolve(path.dirname(path.join(SRC, f)), spec)).replace(/\.js$/, '.ts');
      if (typeOnly.has(spec) && typesFrom.some((t) => target.startsWith(t))) continue;
      const ok = allowed.has(target) || [...allowed].some((a) => target.startsWith(`${a}/`)) || target.startsWith('cli/');
      assert.ok(ok, `${f} imports ${spec} (${target})`);
    }
  }
});
