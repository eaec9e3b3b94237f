/**
 * describeValue: a caller's value as error messages quote it — JSON where it can be (BigInt as
 * `5n`), cut at 120 characters — and never a throw (cycles, throwing getters, symbols, BigInt).
 */
export function describeValue(value: unknown): string {
  try {
    if (typeof value === 'function') return 'a function';
    if (typeof value === 'symbol') return value.toString();
    if (typeof value === 'bigint') return `${value}n (a BigInt)`;
    if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
    const json = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
    if (json === undefined) return String(value);
    return json.length > 120 ? `${json.slice(0, 117)}...` : json;
  } catch {
    try {
      return `an object (${Object.prototype.toString.call(value).slice(8, -1)})`;
    } catch {
      return 'an unreadable value';
    }
  }
}
