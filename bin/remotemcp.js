#!/usr/bin/env node
// `npx remotemcp <command>`: runs the TypeScript CLI through tsx (no build step).
import { register } from 'tsx/esm/api';

register();
await import('./cli.ts');
