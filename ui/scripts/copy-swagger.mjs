// Copies Swagger UI's assets into dist/vendor/swagger-ui/, where the server's API
// docs page (/schema) loads them: the docs must work offline, without a CDN.
// Run by `npm run build` after `vite build` (which empties dist/ first).
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const FILES = ['swagger-ui-bundle.js', 'swagger-ui-standalone-preset.js', 'swagger-ui.css'];

const ui = dirname(dirname(fileURLToPath(import.meta.url)));
const source = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
const target = join(ui, 'dist', 'vendor', 'swagger-ui');

mkdirSync(target, { recursive: true });
for (const file of FILES) {
  copyFileSync(join(source, file), join(target, file));
}
console.log(`copied ${FILES.length} Swagger UI files to dist/vendor/swagger-ui/`);
