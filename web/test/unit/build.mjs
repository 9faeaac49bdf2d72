// Transpiles the framework-free modules of lib/ to plain ESM for node:test,
// with TypeScript (already a dev dependency) instead of a test framework.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const web = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
// Inside web/ so that bare imports (react) resolve from web/node_modules;
// one directory per process, as node --test runs the files in parallel.
const out = join(web, '.unit-build', String(process.pid));
process.on('exit', () => rmSync(out, { recursive: true, force: true }));

export async function load(name) {
  mkdirSync(out, { recursive: true });
  for (const mod of ['api', 'config', 'format', 'messages']) {
    const src = readFileSync(join(web, 'lib', `${mod}.ts`), 'utf8');
    const js = ts
      .transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } })
      .outputText.replace(/from '\.\/(\w+)'/g, "from './$1.mjs'");
    writeFileSync(join(out, `${mod}.mjs`), js);
  }
  return import(pathToFileURL(join(out, `${name}.mjs`)).href);
}
