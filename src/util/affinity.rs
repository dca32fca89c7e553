//! CPU affinity from Redis's cpulist directives (setcpuaffinity.c):
//! `server_cpulist` (the event loop), `bio_cpulist` (background threads:
//! lazy free, AOF fsync and close, the table prefault worker),
//! `aof_rewrite_cpulist` and `bgsave_cpulist` (fork children).
//!
//! The syntax is Redis's: comma-separated CPU numbers and ranges, a range
//! optionally with a stride (`0-7:2` is 0, 2, 4, 6). A list Redis would
//! not parse is ignored, as Redis ignores it (no error, no change), and so
//! is a failing `sched_setaffinity` (a CPU that does not exist).
//!
//! Redis starts its background threads before it pins the main thread, so
//! without `bio_cpulist` they keep the process's original CPU set. Ours
//! start on first use, from a thread `server_cpulist` may already have
//! pinned, so each one calls [`enter_background_thread`], which puts it
//! on `bio_cpulist` or back on the CPU set the process started with
//! ([`init`] records both before anything is pinned).

use std::sync::OnceLock;

/// CPUs `sched_setaffinity` can be given (glibc's CPU_SETSIZE); Redis's
/// CPU_SET ignores larger numbers.
const MAX_CPUS: usize = 1024;

/// The set for background threads: `bio_cpulist`, else the process's
/// original set (None: neither is known, leave threads as they start).
static BACKGROUND: OnceLock<Option<libc::cpu_set_t>> = OnceLock::new();

/// A decimal number at `s[i..]` (`next_num`: a digit must come first).
/// Returns the value (saturated) and the index after its digits.
fn next_num(s: &[u8], i: usize) -> Option<(u64, usize)> {
    let mut j = i;
    let mut v: u64 = 0;
    while j < s.len() && s[j].is_ascii_digit() {
        v = v.saturating_mul(10).saturating_add(u64::from(s[j] - b'0'));
        j += 1;
    }
    (j > i).then_some((v, j))
}

/// The index just after the next `sep` at or after `from` (`next_token`).
fn next_token(s: &[u8], from: usize, sep: u8) -> Option<usize> {
    s.get(from..)?
        .iter()
        .position(|&b| b == sep)
        .map(|p| from + p + 1)
}

/// The CPUs of a cpulist, or None where Redis's parser gives up (and
/// leaves the affinity alone). CPUs of `MAX_CPUS` or more are dropped.
pub fn parse(list: &str) -> Option<Vec<usize>> {
    let s = list.as_bytes();
    let mut cpus = Vec::new();
    let mut q = Some(0);
    // Index after the last number read (Redis's `end`).
    let mut end = None;
    while let Some(p) = q {
        q = next_token(s, p, b',');
        let (a, e) = next_num(s, p)?;
        let (mut b, mut stride) = (a, 1);
        end = Some(e);
        let c1 = next_token(s, e, b'-');
        let c2 = next_token(s, e, b',');
        let before_comma = |c: Option<usize>| c.is_some_and(|c| c2.is_none_or(|c2| c < c2));
        if before_comma(c1) {
            let (v, e) = next_num(s, c1?)?;
            b = v;
            end = Some(e);
            let c3 = next_token(s, e, b':');
            if before_comma(c3) {
                let (v, e) = next_num(s, c3?)?;
                if v == 0 {
                    return None;
                }
                stride = v;
                end = Some(e);
            }
        }
        if a > b {
            return None;
        }
        let mut cpu = a;
        while cpu <= b && cpu < MAX_CPUS as u64 {
            cpus.push(cpu as usize);
            cpu = cpu.saturating_add(stride);
        }
    }
    if end.is_some_and(|e| e < s.len()) {
        return None;
    }
    Some(cpus)
}

fn cpu_set(cpus: &[usize]) -> libc::cpu_set_t {
    // SAFETY: cpu_set_t is a plain bit array; all zeros is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for &c in cpus {
        // SAFETY: CPU_SET writes bit `c` of `set`; c < MAX_CPUS, the
        // set's size in bits (parse drops larger numbers).
        unsafe { libc::CPU_SET(c, &mut set) };
    }
    set
}

fn set_current(set: &libc::cpu_set_t) {
    // SAFETY: pid 0 is the calling thread; `set` is a valid cpu_set_t of
    // the size given. A failure (no such CPU) is ignored, as in Redis.
    unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), set) };
}

/// Pins the calling thread to `list` (`redisSetCpuAffinity`); an empty or
/// unparsable list changes nothing.
pub fn set_current_thread(list: &str) {
    if let Some(cpus) = parse(list) {
        set_current(&cpu_set(&cpus));
    }
}

/// Records, before any thread is pinned, the set background threads run
/// on: `bio_cpulist` when given and valid, else the calling thread's
/// current set. Later calls change nothing.
pub fn init(bio_cpulist: &str) {
    BACKGROUND.get_or_init(|| {
        if let Some(cpus) = parse(bio_cpulist) {
            return Some(cpu_set(&cpus));
        }
        // SAFETY: all zeros is a valid (empty) cpu_set_t, filled below.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        // SAFETY: pid 0 is the calling thread; `set` has the size given.
        let ok =
            unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) }
                == 0;
        ok.then_some(set)
    });
}

/// Called by each background thread as it starts: moves it to the
/// background set recorded by [`init`] (nothing when `init` never ran).
pub fn enter_background_thread() {
    if let Some(Some(set)) = BACKGROUND.get() {
        set_current(set);
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn parses_redis_cpulists() {
        assert_eq!(parse("0"), Some(vec![0]));
        assert_eq!(parse("1,3"), Some(vec![1, 3]));
        assert_eq!(parse("0-3"), Some(vec![0, 1, 2, 3]));
        assert_eq!(parse("0-7:2"), Some(vec![0, 2, 4, 6]));
        assert_eq!(parse("0-7:3,9"), Some(vec![0, 3, 6, 9]));
        assert_eq!(parse("2,0-1"), Some(vec![2, 0, 1]));
        // Bytes between a number and the next comma are skipped, as by
        // Redis's next_token.
        assert_eq!(parse("1 ,2"), Some(vec![1, 2]));
        assert_eq!(parse("1-3abc,5"), Some(vec![1, 2, 3, 5]));
        // CPUs past the set's size are dropped, as CPU_SET drops them.
        assert_eq!(parse("1,5000"), Some(vec![1]));
    }

    #[test]
    fn rejects_what_redis_ignores() {
        for bad in [
            "", "a", "-1", "3-1", "0-7:0", "1,", "1-", "1-x", "0-3:", "0-3:x", "1x", ",1",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }
}
