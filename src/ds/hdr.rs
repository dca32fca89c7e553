//! `ds::hdr` — the per-command latency histogram behind LATENCY HISTOGRAM
//! and INFO latencystats.
//!
//! Redis 7.0 keeps one HdrHistogram per command (`hdr_init(1, 1e9, 2)`:
//! values in nanoseconds from 1 ns to 1 s, 2 significant digits) and reads
//! it with a logarithmic iterator (first bucket 1024 ns, base 2) and with
//! `hdr_value_at_percentile`. This is a port of exactly that subset of
//! hdr_histogram.c with the same bucket layout — 23 buckets of 128
//! sub-buckets, 3,072 counters (24 KB), allocated on a command's first
//! call — so equal samples give byte-identical replies. Recording is a
//! clamp, a leading-zero count, two shifts and an increment.

/// Lowest and highest trackable values (ns): LATENCY_HISTOGRAM_MIN/MAX_VALUE.
pub const MIN_VALUE: u64 = 1;
pub const MAX_VALUE: u64 = 1_000_000_000;
/// sub_bucket_half_count_magnitude for 2 significant figures:
/// ceil(log2(2 * 10^2)) - 1.
const HALF_MAG: u32 = 7;
const SUB_BUCKET_HALF_COUNT: i64 = 1 << HALF_MAG;
const SUB_BUCKET_COUNT: i64 = 2 * SUB_BUCKET_HALF_COUNT;
const SUB_BUCKET_MASK: u64 = (SUB_BUCKET_COUNT as u64) - 1;
/// Buckets needed to cover MAX_VALUE (buckets_needed_to_cover_value).
const BUCKET_COUNT: i64 = 23;
/// counts_len = (bucket_count + 1) * sub_bucket_half_count.
pub const COUNTS_LEN: usize = ((BUCKET_COUNT + 1) * SUB_BUCKET_HALF_COUNT) as usize;

/// One command's latency distribution.
#[derive(Clone)]
pub struct LatencyHistogram {
    counts: Box<[u64; COUNTS_LEN]>,
    total: u64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

#[inline]
fn bucket_index(v: u64) -> i64 {
    // 64 - clz(v | mask) - unit_magnitude(0) - (half_mag + 1)
    (64 - (v | SUB_BUCKET_MASK).leading_zeros() as i64) - (HALF_MAG as i64 + 1)
}

#[inline]
fn counts_index(v: u64) -> usize {
    let b = bucket_index(v);
    let sub = (v >> b) as i64;
    (((b + 1) << HALF_MAG) + (sub - SUB_BUCKET_HALF_COUNT)) as usize
}

/// hdr_value_at_index: the lowest value of counter `index`.
fn value_at_index(index: i64) -> u64 {
    let mut b = (index >> HALF_MAG) - 1;
    let mut sub = (index & (SUB_BUCKET_HALF_COUNT - 1)) + SUB_BUCKET_HALF_COUNT;
    if b < 0 {
        sub -= SUB_BUCKET_HALF_COUNT;
        b = 0;
    }
    (sub as u64) << b
}

/// (lowest equivalent value, size of the equivalent range) of `v`.
fn equivalent_range(v: u64) -> (u64, u64) {
    let b = bucket_index(v);
    let sub = (v >> b) as i64;
    let adjusted = if sub >= SUB_BUCKET_COUNT { b + 1 } else { b };
    ((sub as u64) << b, 1u64 << adjusted)
}

fn lowest_equivalent(v: u64) -> u64 {
    equivalent_range(v).0
}

fn highest_equivalent(v: u64) -> u64 {
    let (low, size) = equivalent_range(v);
    low + size - 1
}

impl LatencyHistogram {
    pub fn new() -> Self {
        LatencyHistogram {
            counts: Box::new([0; COUNTS_LEN]),
            total: 0,
        }
    }

    /// Records one sample in nanoseconds, clamped to [1 ns, 1 s] as
    /// Redis's updateCommandLatencyHistogram does.
    #[inline]
    pub fn record(&mut self, ns: u64) {
        let v = ns.clamp(MIN_VALUE, MAX_VALUE);
        // counts_index(v) < COUNTS_LEN for every v <= MAX_VALUE.
        if let Some(c) = self.counts.get_mut(counts_index(v)) {
            *c += 1;
            self.total += 1;
        }
    }

    /// Samples recorded (the reply's `calls`).
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Redis's fillCommandCDF: (usec, cumulative count) pairs from a
    /// logarithmic iteration (first bucket 1024 ns, base 2), keeping only
    /// the steps whose cumulative count grew.
    pub fn cdf_usec(&self) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        let mut it = LogIter::new(self);
        let mut previous = 0;
        while it.next() {
            if it.cumulative > previous {
                out.push((it.highest_equivalent / 1000, it.cumulative));
            }
            previous = it.cumulative;
        }
        out
    }

    /// hdr_value_at_percentile, in nanoseconds.
    pub fn value_at_percentile(&self, percentile: f64) -> u64 {
        let requested = percentile.min(100.0);
        let at = ((requested / 100.0) * self.total as f64 + 0.5) as u64;
        let at = at.max(1);
        let mut sum = 0u64;
        let mut v = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            sum += c;
            if sum >= at {
                v = value_at_index(i as i64);
                break;
            }
        }
        if percentile == 0.0 {
            lowest_equivalent(v)
        } else {
            highest_equivalent(v)
        }
    }
}

/// hdr_iter with the log iterator's state (hdr_iter_log_init(h, 1024, 2)).
struct LogIter<'a> {
    h: &'a LatencyHistogram,
    index: i64,
    count: u64,
    cumulative: u64,
    value: u64,
    highest_equivalent: u64,
    next_level: u64,
    next_level_lowest: u64,
}

impl<'a> LogIter<'a> {
    fn new(h: &'a LatencyHistogram) -> Self {
        LogIter {
            h,
            index: -1,
            count: 0,
            cumulative: 0,
            value: 0,
            highest_equivalent: 0,
            next_level: 1024,
            next_level_lowest: lowest_equivalent(1024),
        }
    }

    /// move_next: steps to the next counter; false past the last one.
    fn move_next(&mut self) -> bool {
        self.index += 1;
        if self.index >= COUNTS_LEN as i64 {
            return false;
        }
        self.count = self.h.counts[self.index as usize];
        self.cumulative += self.count;
        self.value = value_at_index(self.index);
        self.highest_equivalent = highest_equivalent(self.value);
        true
    }

    /// log_iter_next.
    fn next(&mut self) -> bool {
        let has_next = self.cumulative < self.h.total;
        let beyond = self.index < COUNTS_LEN as i64
            && value_at_index(self.index + 1) > self.next_level_lowest;
        if !(has_next || beyond) {
            return false;
        }
        loop {
            if self.value >= self.next_level_lowest {
                self.next_level *= 2;
                self.next_level_lowest = lowest_equivalent(self.next_level);
                return true;
            }
            if !self.move_next() {
                return true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_hdr_config() {
        // hdr_calculate_bucket_config(1, 1e9, 2): 23 buckets, 3072 counters.
        assert_eq!(COUNTS_LEN, 3072);
        assert!(counts_index(MAX_VALUE) < COUNTS_LEN);
        assert_eq!(counts_index(1), 1);
        assert_eq!(counts_index(255), 255);
        assert_eq!(counts_index(256), 256);
        assert_eq!(counts_index(258), 257);
        assert_eq!(value_at_index(257), 258);
        assert_eq!(highest_equivalent(1000), 1003);
        assert_eq!(highest_equivalent(3000), 3007);
    }

    /// Expected values come from Redis 7.0.15's own hdr_histogram.c
    /// (deps/hdr_histogram) run on the same samples with fillCommandCDF's
    /// loop and hdr_value_at_percentile.
    #[test]
    fn cdf_and_percentiles_as_redis() {
        let mut h = LatencyHistogram::new();
        for us in [1u64, 1, 2, 3, 10, 100, 5000] {
            h.record(us * 1000);
        }
        assert_eq!(h.total(), 7);
        assert_eq!(
            h.cdf_usec(),
            vec![(1, 2), (2, 3), (4, 4), (16, 5), (132, 6), (8454, 7)]
        );
        assert_eq!(h.value_at_percentile(0.0), 1000);
        assert_eq!(h.value_at_percentile(50.0), 3007);
        assert_eq!(h.value_at_percentile(100.0), 5013503);

        let mut z = LatencyHistogram::new();
        z.record(0);
        assert_eq!(z.cdf_usec(), vec![(1, 1)]);
        assert_eq!(z.value_at_percentile(50.0), 1);

        let mut e = LatencyHistogram::new();
        for ns in [
            0u64, 1, 5, 999, 1000, 1023, 1024, 1025, 2047, 2048, 65535, 65536, 999999999,
            1000000000, 2000000000, 3000, 3000, 7000, 250000, 250000,
        ] {
            e.record(ns);
        }
        assert_eq!(
            e.cdf_usec(),
            vec![
                (1, 8),
                (2, 10),
                (4, 12),
                (8, 13),
                (66, 15),
                (264, 17),
                (1073741, 20)
            ]
        );
        assert_eq!(e.value_at_percentile(0.0), 1);
        assert_eq!(e.value_at_percentile(50.0), 2063);
        assert_eq!(e.value_at_percentile(99.9), 1002438655);
    }
}
