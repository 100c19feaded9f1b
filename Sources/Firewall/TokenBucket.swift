/// A token bucket on virtual time: `rate` tokens a second, at most `burst` saved up. Deterministic:
/// it reads only the times it is given.
struct TokenBucket: Sendable {
    let rate: Double
    let burst: Double
    private var tokens: Double
    private var last: UInt64 = 0

    init(rate: Double, burst: Int) {
        self.rate = rate
        self.burst = Double(max(1, burst))
        tokens = self.burst
    }

    /// Takes one token if there is one at `now`.
    mutating func take(now: UInt64) -> Bool {
        if now > last {
            tokens = min(burst, tokens + Double(now - last) / 1e9 * rate)
            last = now
        }
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}

