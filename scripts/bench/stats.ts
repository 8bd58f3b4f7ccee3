// Percentiles of a sample of latencies (milliseconds), nearest-rank.
export function percentiles(values: number[]): { p50: number; p90: number; p99: number; max: number; mean: number } {
  if (values.length === 0) return { p50: NaN, p90: NaN, p99: NaN, max: NaN, mean: NaN };
  const sorted = Float64Array.from(values).sort();
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
  const round = (x: number) => Math.round(x * 100) / 100;
  let sum = 0;
  for (const v of sorted) sum += v;
  return { p50: round(at(0.5)), p90: round(at(0.9)), p99: round(at(0.99)), max: round(sorted[sorted.length - 1]), mean: round(sum / sorted.length) };
}
