// Test-only resolve hook: imports of `fs` / `node:fs` get the shim (except from the shim itself).
const shim = new URL('./fs-shim.mjs', import.meta.url).href;

export async function resolve(specifier, context, nextResolve) {
  if ((specifier === 'fs' || specifier === 'node:fs') && context.parentURL !== shim)
    return { url: shim, shortCircuit: true };
  return nextResolve(specifier, context);
}
