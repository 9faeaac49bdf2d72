// Post-processes `next build`'s static export (web/out) into the directory
// authd embeds (internal/ui/dist).
//
// Why: the App Router writes its flight data and runtime bootstrap as
// inline <script> elements, and authd serves the pages under a CSP of
// `script-src 'self'` with no inline script at all. Each inline script is
// moved, unchanged and in the same document position, into a file named
// by the hash of its content, so the browser runs the same code in the
// same order from a same-origin URL.
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(web, 'out');
const dst = join(web, '..', 'internal', 'ui', 'dist');
const basePath = '/ui';
const inlineDir = '_next/static/inline';

rmSync(dst, { recursive: true, force: true });
cpSync(src, dst, { recursive: true });
mkdirSync(join(dst, inlineDir), { recursive: true });

// A <script> with no src and a JavaScript type (none, or text/javascript).
// Attribute values in Next's output are double-quoted.
const scriptTag = /<script((?:\s+[A-Za-z_:][-A-Za-z0-9_:.]*(?:="[^"]*")?)*)\s*>([\s\S]*?)<\/script>/g;

function externalize(html, file) {
  return html.replace(scriptTag, (whole, attrs, body) => {
    if (/\ssrc=/.test(attrs) || body.trim() === '') return whole;
    const type = /\stype="([^"]*)"/.exec(attrs)?.[1];
    if (type !== undefined && type !== '' && type !== 'text/javascript' && type !== 'module') {
      return whole; // data blocks (application/json, …) are not executed
    }
    const name = createHash('sha256').update(body).digest('hex').slice(0, 24) + '.js';
    writeFileSync(join(dst, inlineDir, name), body);
    return `<script${attrs} src="${basePath}/${inlineDir}/${name}"></script>`;
  });
}

function walk(dir) {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) {
      walk(path);
    } else if (path.endsWith('.html')) {
      const html = readFileSync(path, 'utf8');
      const out = externalize(html, relative(dst, path));
      if (/<script(?![^>]*\ssrc=)[^>]*>\s*[^<\s]/.test(out)) {
        throw new Error(`${relative(dst, path)}: an inline script is left`);
      }
      writeFileSync(path, out);
    }
  }
}

walk(dst);
