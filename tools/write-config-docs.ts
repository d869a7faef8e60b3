// Writes docs/configs.md from the config schema (npm run docs); a test checks the committed file is current.
import { writeFile } from 'node:fs/promises';
import { CONFIG_DOCS_FILE, configDocs } from '../src/experiments/config-docs.js';

await writeFile(CONFIG_DOCS_FILE, await configDocs());
console.log(`wrote ${CONFIG_DOCS_FILE}`);
