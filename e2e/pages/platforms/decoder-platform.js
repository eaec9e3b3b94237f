/**
 * A test platform that runs an ONNX model of its own, step by step: the version holds
 * `step.onnx` (an MLP with input `x` [batch, 16] and output `y` [batch, 4]). `predictStream`
 * feeds `x`, then for each further step feeds the previous `y` tiled back to 16 values — a
 * decoder loop in miniature — and yields each step's `y`. The session runs on the runner's
 * onnxruntime-web instance (one run at a time with everything else it hosts).
 */
export function createLoader(version) {
  let session;
  return {
    async load() {
      session = await version.createOnnxSession(await version.read('step.onnx'));
      return {
        signature: { inputs: [{ name: 'x', type: 'float32', shape: [1, 16] }], outputs: [{ name: 'y', type: 'float32', shape: [1, 4] }] },
        async *stream(inputs, { signal }) {
          const steps = version.config?.steps ?? 3;
          let x = inputs.x;
          for (let i = 0; i < steps; i += 1) {
            const { y } = await session.run({ x }, { signal });
            yield { y };
            const next = new Float32Array(16);
            for (let j = 0; j < 16; j += 1) next[j] = y.data[j % 4];
            x = { type: 'float32', data: next, dims: [1, 16] };
          }
        },
        describe: () => ({ inputs: session.signature.inputs.length }),
      };
    },
    async unload() {
      await session?.release();
    },
  };
}
