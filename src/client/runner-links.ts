/**
 * RunnerLinks: the main thread's part in runners calling each other's servables (a pipeline's
 * steps; see "runner to runner" in src/protocol/runner.ts). A runner asks where a servable runs;
 * the answer comes from the routing table or the control worker, and the first time that runner
 * needs that other one, both ends of a new MessageChannel go out (`connect` to the callee, the
 * port with the answer to the caller). Each runner's RunnerLinks remembers whom it has a port to.
 */
import { ServingError, describeServable } from '../core/serving-error.js';
import type { CheckedSelector } from '../core/version-selector.js';
import type { Route } from '../protocol.js';
import type { FromRunner, ToRunner } from '../protocol/runner.js';

/** What of a runner the links need. */
export interface LinkedRunner {
  readonly name: string;
  readonly state: string;
  readonly links: RunnerLinks;
  post(message: ToRunner, transfer?: Transferable[]): void;
}

export type RouteResolver = (selector: CheckedSelector, fresh: boolean) => Promise<Route>;

export class RunnerLinks {
  /** Runners this one has a port to. */
  readonly #peers = new Set<string>();
  /** It has asked for routes: it is told when the routing table changes. */
  asksRoutes = false;

  /** Answers `runner`'s `route` question, with a port to the servable's runner the first time. */
  async answerRoute(runner: LinkedRunner, runners: ReadonlyMap<string, LinkedRunner>, resolve: RouteResolver | undefined, { id, sel, fresh }: Extract<FromRunner, { k: 'route' }>): Promise<void> {
    this.asksRoutes = true;
    try {
      if (!resolve) throw new ServingError('INTERNAL', `${describeServable(sel.model)}: this runner pool was made without resolveRoute, so runners cannot call each other`, { model: sel.model });
      let route = await resolve(sel, fresh);
      // A table entry for a runner that has just died: the control worker's answer waits for its replacement.
      if (!fresh && runners.get(route.runner)?.state !== 'up') route = await resolve(sel, true);
      const target = runners.get(route.runner);
      if (runner.state !== 'up') return;
      if (!target || target.state !== 'up') {
        throw new ServingError('UNAVAILABLE', `${describeServable(sel.model, route.version)}: its runner is being replaced; retry the request`, { model: sel.model, version: route.version, data: { retryable: true } });
      }
      if (this.#peers.has(target.name)) {
        runner.post({ k: 'routed', id, route });
        return;
      }
      const { port1, port2 } = new MessageChannel();
      target.post({ k: 'connect', peer: runner.name, port: port1 }, [port1]);
      this.#peers.add(target.name);
      runner.post({ k: 'routed', id, route, port: port2 }, [port2]);
    } catch (error) {
      if (runner.state === 'up') runner.post({ k: 'routed', id, error: ServingError.from(error, { model: sel.model }).toJSON() });
    }
  }

  /** `runner` closed its port to `target` (`target` said bye). */
  unlinked(runner: LinkedRunner, target: LinkedRunner | undefined): void {
    if (target && this.#peers.delete(target.name)) target.post({ k: 'disconnect', peer: runner.name });
  }

  /** `gone` ended: runners calling it are told (`died` or retired), runners it called forget it. */
  static gone(gone: LinkedRunner, runners: Iterable<LinkedRunner>, died: boolean): void {
    for (const runner of runners) {
      if (runner.state !== 'up' || runner === gone) continue;
      if (runner.links.#peers.delete(gone.name)) runner.post({ k: 'peer-gone', runner: gone.name, died });
      if (gone.links.#peers.has(runner.name)) runner.post({ k: 'disconnect', peer: gone.name });
    }
    gone.links.#peers.clear();
  }
}
