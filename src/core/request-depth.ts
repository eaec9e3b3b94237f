/**
 * How deep a request is in a chain of servables calling servables (a pipeline whose step is a
 * pipeline…): 0 for a request from the page, one more per runner-to-runner hop. It travels in the
 * request (`h`) and, inside a runner, with the AbortSignal the servable's call was given, so a
 * servable's own calls carry it on. Past MAX_REQUEST_DEPTH the call is refused: pipelines that
 * call each other in a circle would otherwise go on until the caller's deadline, or forever.
 */
export const MAX_REQUEST_DEPTH = 16;

const depths = new WeakMap<AbortSignal, number>();

/** Records the depth of the request `signal` belongs to. */
export function setRequestDepth(signal: AbortSignal, depth: number | undefined): void {
  if (depth) depths.set(signal, depth);
}

export function requestDepth(signal: AbortSignal): number {
  return depths.get(signal) ?? 0;
}

/** A signal made for work on behalf of `parent`'s request (a pipeline's own abort) keeps its depth. */
export function inheritRequestDepth(child: AbortSignal, parent: AbortSignal): void {
  setRequestDepth(child, depths.get(parent));
}
