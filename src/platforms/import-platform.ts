/**
 * importPlatform: an app's platform module, imported by URL in whichever worker needs it (the
 * control worker to estimate, a runner to load). FAILED_PRECONDITION naming the module and the
 * fix when it cannot be imported or exports no `createLoader`.
 */
import { ServingError, describeServable } from '../core/serving-error.js';
import type { PlatformModule } from './platform.js';

export async function importPlatform(where: { readonly platform: string; readonly model: string; readonly version: number; readonly worker: string }, url: string): Promise<PlatformModule> {
  const details = { model: where.model, version: where.version };
  const subject = `${describeServable(where.model, where.version)}: the module of platform "${where.platform}" (${url})`;
  let module: Partial<PlatformModule>;
  try {
    module = (await import(/* @vite-ignore */ url)) as Partial<PlatformModule>;
  } catch (error) {
    throw new ServingError('FAILED_PRECONDITION', `${subject} could not be imported in the ${where.worker}: ${(error as Error)?.message ?? String(error)}; check the URL given for it in the config's platforms`, details);
  }
  if (typeof module.createLoader !== 'function') {
    throw new ServingError('FAILED_PRECONDITION', `${subject} does not export a createLoader function (exports: ${Object.keys(module).join(', ') || 'none'})`, details);
  }
  return module as PlatformModule;
}
