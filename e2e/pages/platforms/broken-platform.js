/** A test platform whose load() fails with a plain Error: the version ends with INTERNAL naming the platform. */
export function createLoader() {
  return {
    async load() {
      throw new Error('the broken platform cannot load anything');
    },
  };
}
