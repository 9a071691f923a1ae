// Test-only preload: on Node 20 the conformance suite needs fs.globSync (Node >= 22). Named
// ESM exports of `fs` are fixed at first load, so a resolve hook swaps in a shim instead of patching fs.
import { register } from 'node:module';

register('./fs-hooks.mjs', import.meta.url);
