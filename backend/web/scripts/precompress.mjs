// Writes a gzipped copy (`<file>.gz`, maximum compression) next to every compressible built file
// that gets smaller, so the server can answer `Content-Encoding: gzip` without compressing per
// request. Usage: node scripts/precompress.mjs <dist>
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { constants, gzipSync } from 'node:zlib';

const COMPRESSIBLE = /\.(js|mjs|css|html|json|svg|txt|map)$/;

function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (COMPRESSIBLE.test(name)) {
      const body = readFileSync(path);
      const gz = gzipSync(body, { level: constants.Z_BEST_COMPRESSION });
      if (gz.length < body.length) writeFileSync(`${path}.gz`, gz);
    }
  }
}

walk(process.argv[2] ?? 'dist');
