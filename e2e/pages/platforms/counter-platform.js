/**
 * A test platform that streams: `predictStream` with an int32 input `n` yields n results
 * `{ step: [i] }`, each after `platformConfig.stepMs` (default 0). `stats()` says how many steps
 * it has produced and how many streams were stopped early (their iterator returned) — so a test
 * can see back-pressure and cancellation from the servable's side.
 */
export function createLoader(version) {
  const stepMs = version.config?.stepMs ?? 0;
  let produced = 0;
  let stopped = 0;
  let finished = 0;
  return {
    async load() {
      return {
        signature: { inputs: [{ name: 'n', type: 'int32', shape: [1] }], outputs: [{ name: 'step', type: 'int32', shape: [1] }] },
        async *stream(inputs, { signal }) {
          const n = inputs.n.data[0];
          let done = false;
          try {
            for (let i = 0; i < n; i += 1) {
              if (stepMs > 0) await new Promise((resolve) => setTimeout(resolve, stepMs));
              signal.throwIfAborted();
              produced += 1;
              yield { step: { type: 'int32', data: Int32Array.of(i), dims: [1] } };
            }
            done = true;
            finished += 1;
          } finally {
            if (!done) stopped += 1;
          }
        },
        methods: { stats: () => ({ produced, stopped, finished }) },
      };
    },
  };
}
