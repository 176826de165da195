/** A token bucket per client: `rate` requests per second on average, bursts up to `rate`. Pure; time is given. */

export function createRateLimiter(rate: number, maxClients = 10_000) {
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    /** Takes a token for the client at `nowMs`: 0 when allowed, else the seconds to wait for one. */
    take(client: string, nowMs: number): number {
      let bucket = buckets.get(client);
      if (!bucket) {
        if (buckets.size >= maxClients) buckets.clear(); // bounded memory; a reset only forgives
        bucket = { tokens: rate, at: nowMs };
        buckets.set(client, bucket);
      }
      bucket.tokens = Math.min(rate, bucket.tokens + ((nowMs - bucket.at) / 1000) * rate);
      bucket.at = nowMs;
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return 0;
      }
      return (1 - bucket.tokens) / rate;
    },
  };
}
