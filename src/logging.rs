//! Logging in Redis's format, through `tracing`:
//! `<pid>:<role> 27 Nov 2026 11:26:18.123 * message`. Levels map as
//! warning '#' (WARN/ERROR), notice '*' (INFO), verbose '-' (DEBUG),
//! debug '.' (TRACE). `logfile ""` logs to stdout. The role is Redis's:
//! 'M' master, 'S' replica (REPLICAOF host port), 'C' a forked
//! BGSAVE / AOF rewrite child, which also logs its own pid
//! (`enter_child`).

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicU32, AtomicU8, Ordering};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

// Global: the log formatter runs in `tracing`'s subscriber, on any thread
// (lazy-free, fsync, crash reporter), with no server at hand.
/// 0 debug, 1 verbose, 2 notice, 3 warning (Redis's verbosity numbers).
static VERBOSITY: AtomicU8 = AtomicU8::new(2);

pub fn set_verbosity(level: u8) {
    VERBOSITY.store(level, Ordering::Relaxed);
}

/// The pid log lines carry (set by `init`, and again by a forked child).
static LOG_PID: AtomicU32 = AtomicU32::new(0);
/// The role char log lines carry: b'M', b'S' or b'C'.
static ROLE: AtomicU8 = AtomicU8::new(b'M');

/// 'M' for a master, 'S' for a replica (Redis's `server.masterhost`).
pub fn set_replica(is_replica: bool) {
    // A child keeps 'C' whatever its copy of the server does.
    if ROLE.load(Ordering::Relaxed) != b'C' {
        ROLE.store(if is_replica { b'S' } else { b'M' }, Ordering::Relaxed);
    }
}

/// Called in a forked child: its lines carry its own pid and role 'C'.
pub fn enter_child() {
    LOG_PID.store(std::process::id(), Ordering::Relaxed);
    ROLE.store(b'C', Ordering::Relaxed);
}

fn level_rank(l: &Level) -> u8 {
    match *l {
        Level::TRACE => 0,
        Level::DEBUG => 1,
        Level::INFO => 2,
        _ => 3,
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z.rem_euclid(146097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// "27 Nov 2026 11:26:18.123" for a unix time in ms (UTC).
pub fn format_time(ms: i64) -> String {
    let mut s = String::with_capacity(24);
    write_time(&mut s, ms);
    s
}

/// Writes [`format_time`]'s text into any writer, without allocating
/// (the crash reporter uses it from signal handlers).
pub fn write_time(w: &mut impl fmt::Write, ms: i64) {
    let secs = ms.div_euclid(1000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86400));
    let sod = secs.rem_euclid(86400);
    let _ = write!(
        w,
        "{:02} {} {} {:02}:{:02}:{:02}.{:03}",
        d,
        MONTHS[(m - 1) as usize],
        y,
        sod / 3600,
        (sod % 3600) / 60,
        sod % 60,
        ms.rem_euclid(1000)
    );
}

/// The role character log lines carry right now ('M', 'S' or 'C').
pub fn role_char() -> char {
    ROLE.load(Ordering::Relaxed) as char
}

struct RedisFormat;

impl<S, N> FormatEvent<S, N> for RedisFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let c = match *event.metadata().level() {
            Level::TRACE => '.',
            Level::DEBUG => '-',
            Level::INFO => '*',
            _ => '#',
        };
        write!(
            w,
            "{}:{} {} {} ",
            LOG_PID.load(Ordering::Relaxed),
            ROLE.load(Ordering::Relaxed) as char,
            format_time(crate::clock::wall_ms()),
            c
        )?;
        ctx.field_format().format_fields(w.by_ref(), event)?;
        writeln!(w)
    }
}

/// `syslog-enabled yes`: every line also goes to syslog(3), as Redis's
/// serverLogRaw does (the message only; syslog adds time and pid).
struct SyslogLayer;

/// Collects an event's `message` field.
struct MessageText(String);

impl tracing::field::Visit for MessageText {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.0.push_str(&format!("{:?}", value));
        }
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        }
    }
}

impl<S: Subscriber> tracing_subscriber::Layer<S> for SyslogLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: tracing_subscriber::layer::Context<'_, S>) {
        // syslogLevelMap: debug, verbose, notice, warning.
        let prio = match *event.metadata().level() {
            Level::TRACE => libc::LOG_DEBUG,
            Level::DEBUG => libc::LOG_INFO,
            Level::INFO => libc::LOG_NOTICE,
            _ => libc::LOG_WARNING,
        };
        let mut text = MessageText(String::new());
        event.record(&mut text);
        if let Ok(msg) = std::ffi::CString::new(text.0.replace('\0', "")) {
            // SAFETY: a constant "%s" format with one C string argument.
            unsafe { libc::syslog(prio, c"%s".as_ptr(), msg.as_ptr()) };
        }
    }
}

/// syslog-facility names and their values (Redis's syslog_facility_enum).
pub fn syslog_facility(name: &str) -> Option<libc::c_int> {
    Some(match name {
        "user" => libc::LOG_USER,
        "local0" => libc::LOG_LOCAL0,
        "local1" => libc::LOG_LOCAL1,
        "local2" => libc::LOG_LOCAL2,
        "local3" => libc::LOG_LOCAL3,
        "local4" => libc::LOG_LOCAL4,
        "local5" => libc::LOG_LOCAL5,
        "local6" => libc::LOG_LOCAL6,
        "local7" => libc::LOG_LOCAL7,
        _ => return None,
    })
}

/// Opens the syslog connection (openlog with Redis's flags); the ident
/// must live for the whole process.
fn open_syslog(ident: &str, facility: libc::c_int) {
    let ident: &'static std::ffi::CStr = Box::leak(
        std::ffi::CString::new(ident.replace('\0', ""))
            .unwrap_or_default()
            .into_boxed_c_str(),
    );
    // SAFETY: openlog keeps the ident pointer, which is leaked ('static).
    unsafe {
        libc::openlog(
            ident.as_ptr(),
            libc::LOG_PID | libc::LOG_NDELAY | libc::LOG_NOWAIT,
            facility,
        )
    };
}

/// Installs the global subscriber. `logfile` empty = stdout; `syslog` is
/// (ident, facility) when syslog-enabled is yes.
pub fn init(
    logfile: &str,
    verbosity: u8,
    syslog: Option<(&str, libc::c_int)>,
) -> Result<(), String> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::Layer;
    set_verbosity(verbosity);
    LOG_PID.store(std::process::id(), Ordering::Relaxed);
    let filter = tracing_subscriber::filter::filter_fn(|meta| {
        level_rank(meta.level()) >= VERBOSITY.load(Ordering::Relaxed)
    });
    let fmt = tracing_subscriber::fmt::layer()
        .event_format(RedisFormat)
        .with_ansi(false);
    let syslog_layer = syslog.map(|(ident, facility)| {
        open_syslog(ident, facility);
        SyslogLayer.with_filter(tracing_subscriber::filter::filter_fn(|meta| {
            level_rank(meta.level()) >= VERBOSITY.load(Ordering::Relaxed)
        }))
    });
    let registry = tracing_subscriber::registry().with(syslog_layer);
    let result = if logfile.is_empty() {
        let layer = fmt.with_writer(std::io::stdout).with_filter(filter);
        tracing::subscriber::set_global_default(registry.with(layer))
    } else {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(logfile)
            .map_err(|e| format!("Can't open the log file: {}", e))?;
        let file = std::sync::Mutex::new(file);
        let layer = fmt.with_writer(file).with_filter(filter);
        tracing::subscriber::set_global_default(registry.with(layer))
    };
    result.map_err(|e| e.to_string())?;
    let _ = std::io::stdout().flush();
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn time_format() {
        assert_eq!(super::format_time(0), "01 Jan 1970 00:00:00.000");
        assert_eq!(
            super::format_time(1_795_778_778_123),
            "27 Nov 2026 11:26:18.123"
        );
    }
}
