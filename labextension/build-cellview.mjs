// Bundles the cell view (src/cellview.ts) into one self-contained, minified ES module:
// collet_nb/static/message_view.js, which the kernel sends to the page once per kernel
// (collet_nb/ui/view.py). markdown-it and highlight.js go inside; nothing is imported at run
// time. Usage: node build-cellview.mjs [--dev] (--dev: not minified, with an inline source map).
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const outfile = join(here, '..', 'collet_nb', 'static', 'message_view.js');
const dev = process.argv.includes('--dev');

mkdirSync(dirname(outfile), { recursive: true });
const result = await build({
  entryPoints: [join(here, 'src', 'cellview.ts')],
  outfile,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2020'],
  minify: !dev,
  sourcemap: dev ? 'inline' : false,
  legalComments: 'eof',
  banner: {
    js:
      '/* collet_nb message view (labextension/src/cellview.ts). Bundles markdown-it (MIT) ' +
      'and highlight.js (BSD-3-Clause). */'
  },
  metafile: true,
  logLevel: 'warning'
});

const output = Object.values(result.metafile.outputs)[0];
if (output === undefined) {
  throw new Error('esbuild wrote no output');
}
if (output.imports.length > 0) {
  const names = output.imports.map(i => i.path).join(', ');
  throw new Error(`the cell view must be self-contained, but it imports: ${names}`);
}
process.stdout.write(
  `${relative(process.cwd(), outfile)}: ${(output.bytes / 1024).toFixed(1)} KiB\n`
);
