#!/usr/bin/env -S node --max-semi-space-size=64
// `npx remotemcp <command>`: runs the TypeScript CLI through tsx (no build step).
import { register } from 'tsx/esm/api';

register();
await import('./cli.ts');
