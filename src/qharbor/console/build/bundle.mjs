// Rebuilds ../static/vendor/noble-post-quantum.js from the versions package-lock.json pins.
//
//   npm ci && node bundle.mjs            # writes the shipped file
//   node bundle.mjs --out /tmp/x.js      # writes elsewhere (the tests compare the two)
//
// The output depends only on the locked packages and the esbuild version, so the
// same lock file gives the same bytes on any machine.

import {readFileSync, writeFileSync} from 'node:fs';
import {dirname, join, resolve} from 'node:path';
import {fileURLToPath} from 'node:url';
import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const entry = "export { ml_dsa65 } from '@noble/post-quantum/ml-dsa.js';";

const version = (name) =>
  JSON.parse(readFileSync(join(here, 'node_modules', name, 'package.json'), 'utf8')).version;

const flag = process.argv.indexOf('--out');
const out = flag >= 0 ? resolve(process.argv[flag + 1]) : join(here, '..', 'static', 'vendor', 'noble-post-quantum.js');

const banner =
  `/*! @noble/post-quantum ${version('@noble/post-quantum')} with @noble/hashes ${version('@noble/hashes')} ` +
  `and @noble/curves ${version('@noble/curves')} (MIT; LICENSE-noble-post-quantum.txt),\n` +
  ` * bundled by esbuild --bundle --format=esm --minify from: ${entry} */`;

const result = await esbuild.build({
  stdin: {contents: entry, resolveDir: here, loader: 'js'},
  bundle: true,
  format: 'esm',
  minify: true,
  legalComments: 'eof',
  banner: {js: banner},
  write: false,
  logLevel: 'warning',
});
writeFileSync(out, result.outputFiles[0].contents);
console.log(`${out}: ${result.outputFiles[0].contents.length} bytes`);
