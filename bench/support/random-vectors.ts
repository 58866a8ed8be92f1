/** Seeded unit vectors (mulberry32 + Box–Muller), so every run and backend sees the same data. */
export function createVectorSource(seed: number): (dimension: number) => number[] {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const gaussian = () => Math.sqrt(-2 * Math.log(next() || 1e-12)) * Math.cos(2 * Math.PI * next());
  return (dimension) => {
    const vector = Array.from({ length: dimension }, gaussian);
    const norm = Math.hypot(...vector);
    return vector.map((value) => value / norm);
  };
}
