//! `ferrokv-server [config-file] [--directive value ...]`: loads the
//! configuration like redis-server, sets up logging, opens the listening
//! sockets and hands over to the event loop.

// As in lib.rs: unsafe operations in their own `unsafe {}` blocks, each
// with a `// SAFETY:` comment.
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

use ferrokv::config::Config;
use ferrokv::server::{Server, REDIS_VERSION, VERSION};
use ferrokv::{event_loop, logging};
use tracing::{info, warn};

#[global_allocator]
static GLOBAL: ferrokv::alloc::CountingAlloc = ferrokv::alloc::CountingAlloc;

fn cli() -> clap::Command {
    clap::Command::new("ferrokv-server")
        .about("A Redis 7.0-compatible in-memory key-value server")
        .override_usage(
            "ferrokv-server [/path/to/redis.conf] [options] [-]\n       ferrokv-server - (read config from stdin)\n       ferrokv-server -v or --version\n       ferrokv-server -h or --help\n\nExamples:\n       ferrokv-server (run the server with default conf)\n       ferrokv-server /etc/redis/6379.conf\n       ferrokv-server --port 7777\n       ferrokv-server /etc/myredis.conf --loglevel verbose -",
        )
        .disable_version_flag(true)
        .arg(
            clap::Arg::new("version")
                .short('v')
                .long("version")
                .action(clap::ArgAction::SetTrue)
                .help("Print version and exit"),
        )
        .arg(
            clap::Arg::new("args")
                .num_args(0..)
                .trailing_var_arg(true)
                .allow_hyphen_values(true)
                .help("Config file, then --directive value pairs as in redis.conf"),
        )
}

fn fatal_config(file: &str, e: &ferrokv::config::ConfigError) -> ! {
    eprintln!(
        "\n*** FATAL CONFIG FILE ERROR (ferrokv {} / Redis {}) ***",
        VERSION, REDIS_VERSION
    );
    eprintln!(
        "Reading the configuration file {}, at line {}",
        file, e.line
    );
    eprintln!(">>> '{}'", e.text);
    eprintln!("{}", e.reason);
    std::process::exit(1);
}

fn daemonize() {
    // SAFETY: fork/setsid/dup2 before any threads are started.
    unsafe {
        match libc::fork() {
            -1 => {
                eprintln!("fork failed");
                std::process::exit(1);
            }
            0 => {}
            _ => std::process::exit(0),
        }
        libc::setsid();
        let fd = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if fd >= 0 {
            libc::dup2(fd, 0);
            libc::dup2(fd, 1);
            libc::dup2(fd, 2);
            if fd > 2 {
                libc::close(fd);
            }
        }
    }
}

/// Redis's adjustOpenFilesLimit: make room for maxclients + 32 descriptors,
/// or log what the limit allows.
fn adjust_open_files_limit(maxclients: usize) {
    let want = (maxclients + 32) as libc::rlim_t;
    // SAFETY: getrlimit/setrlimit with a valid rlimit struct.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 || lim.rlim_cur >= want {
            return;
        }
        let target = want.min(lim.rlim_max);
        let new = libc::rlimit {
            rlim_cur: target,
            rlim_max: lim.rlim_max,
        };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &new) == 0 && target < want {
            warn!(
                "You requested maxclients of {} requiring at least {} max file descriptors. Server can't set maximum open files to {} because of OS error: the hard limit is {}.",
                maxclients, want, want, lim.rlim_max
            );
        }
    }
}

/// The container image's defaults, when its Dockerfile set
/// `FERROKV_CONTAINER` (the official redis image's behaviour): protected
/// mode off by default (the official image builds Redis with that
/// default; a config file or argument can turn it on again), a leading
/// `redis-server` / `ferrokv-server` argument is the command name of the
/// official image's `docker run redis redis-server --port 7000` form and
/// is dropped, and a 0022 umask becomes 0077 as its entrypoint does.
fn container_defaults(raw: &mut Vec<String>, config: &mut Config) {
    if std::env::var("FERROKV_CONTAINER").map_or(true, |v| v.is_empty() || v == "0") {
        return;
    }
    if raw.first().is_some_and(|a| {
        (a == "redis-server" || a == "ferrokv-server") && !std::path::Path::new(a).exists()
    }) {
        raw.remove(0);
    }
    if let Err(e) = config.load_text("protected-mode no\n") {
        fatal_config("(container defaults)", &e);
    }
    // SAFETY: umask only changes this process's file creation mask.
    unsafe {
        let old = libc::umask(0o077);
        if old != 0o022 {
            libc::umask(old);
        }
    }
}

fn main() {
    ferrokv::alloc::tune_system_allocator();
    ferrokv::lazyfree::install_dict_hook();
    // `--check-ping [addr]`: the container HEALTHCHECK's PING client.
    let argv: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    if argv.get(1).map(|s| s.as_str()) == Some("--check-ping") {
        std::process::exit(ferrokv::healthcheck::run(&argv[2..]));
    }
    // Before any thread exists: the title area takes over the environment.
    ferrokv::proctitle::init();
    let m = cli().get_matches();
    if m.get_flag("version") {
        println!(
            "ferrokv server v={} redis_version={} bits=64 malloc=libc",
            VERSION, REDIS_VERSION
        );
        return;
    }
    let mut raw: Vec<String> = m
        .get_many::<String>("args")
        .map(|v| v.cloned().collect())
        .unwrap_or_default();

    let mut config = Config::new();
    container_defaults(&mut raw, &mut config);
    let mut rest = &raw[..];
    let mut config_file = None;
    if let Some(first) = raw.first() {
        if !first.starts_with("--") {
            config_file = Some(first.clone());
            rest = &raw[1..];
        }
    }
    // A trailing "-" means: also read config from stdin.
    let mut read_stdin = false;
    if rest.last().map(|s| s.as_str()) == Some("-") {
        read_stdin = true;
        rest = &rest[..rest.len() - 1];
    }
    if let Some(path) = &config_file {
        // Absolute before loading: a `dir` line changes the working
        // directory while the file is read (getAbsolutePath first, as Redis).
        if path != "-" {
            config.config_file = std::fs::canonicalize(path)
                .ok()
                .map(|p| p.to_string_lossy().into_owned());
        }
        let text = if path == "-" {
            std::io::read_to_string(std::io::stdin()).unwrap_or_default()
        } else {
            match std::fs::read_to_string(path) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("Fatal error, can't open config file '{}': {}", path, e);
                    std::process::exit(1);
                }
            }
        };
        if let Err(e) = config.load_text(&text) {
            fatal_config(path, &e);
        }
    }
    if read_stdin {
        let text = std::io::read_to_string(std::io::stdin()).unwrap_or_default();
        if let Err(e) = config.load_text(&text) {
            fatal_config("(stdin)", &e);
        }
    }
    if !rest.is_empty() {
        let text = Config::args_to_text(rest);
        if let Err(e) = config.load_text(&text) {
            fatal_config("(command line)", &e);
        }
    }

    let logfile = config.logfile.clone();
    let syslog_ident = config.syslog_ident.clone();
    let syslog = config.syslog_enabled.then(|| {
        let facility = logging::syslog_facility(config.syslog_facility.as_str());
        (syslog_ident.as_str(), facility.unwrap_or(libc::LOG_LOCAL0))
    });
    if let Err(e) = logging::init(&logfile, config.loglevel, syslog) {
        eprintln!("{}", e);
        std::process::exit(1);
    }
    // redisIsSupervised, then daemonize unless supervised (as Redis).
    let supervised = ferrokv::supervise::start(config.supervised.as_str());
    if config.daemonize && !supervised {
        daemonize();
    }
    ferrokv::crash::init(
        REDIS_VERSION,
        &logfile,
        config.crash_log_enabled,
        config.use_exit_on_panic,
    );
    let pid = std::process::id();
    warn!("oO0OoO0OoO0Oo ferrokv is starting oO0OoO0OoO0Oo");
    warn!(
        "ferrokv version={}, redis_version={}, bits=64, pid={}, just started",
        VERSION, REDIS_VERSION, pid
    );
    match &config.config_file {
        Some(f) => warn!("Configuration loaded from {}", f),
        None => warn!("Warning: no config file specified, using the default config. In order to specify a config file use ferrokv-server /path/to/redis.conf"),
    }
    let pidfile = config.pidfile.clone();
    if !pidfile.is_empty() {
        let _ = std::fs::write(&pidfile, format!("{}\n", pid));
    }

    adjust_open_files_limit(config.maxclients);
    let _ = ferrokv::oom::update(&config);
    // Before any background thread starts: what they run on.
    ferrokv::util::affinity::init(&config.bio_cpulist);
    let renames = std::mem::take(&mut config.renames);
    let mut srv = Server::new(
        config,
        ferrokv::commands::table(),
        ferrokv::commands::hooks(),
    );
    for (mut at, old, new) in renames {
        if let Err(reason) = srv.commands.rename(&old, &new) {
            at.reason = reason.to_string();
            let file = srv.config.config_file.clone();
            fatal_config(file.as_deref().unwrap_or("(command line)"), &at);
        }
    }
    if let Err(e) = ferrokv::commands::acl_cmd::load_at_startup(&mut srv) {
        warn!("{}", e);
        std::process::exit(1);
    }
    // initListeners: nothing to listen on is fatal.
    // initServer: a TLS context when TLS is in use (tlsConfigure).
    if ferrokv::tls::wanted(&srv.config) {
        match ferrokv::tls::configure(&srv.config) {
            Some(ctx) => srv.tls.ctx = Some(std::sync::Arc::new(ctx)),
            None => {
                warn!("Failed to configure TLS. Check logs for more info.");
                std::process::exit(1);
            }
        }
    }
    if srv.config.port == 0 && srv.config.tls_port == 0 && srv.config.unixsocket.is_empty() {
        warn!("Configured to not listen anywhere, exiting.");
        std::process::exit(1);
    }
    let listeners = match event_loop::listen(&srv) {
        Ok(l) => l,
        Err(msg) => {
            warn!("{}", msg);
            std::process::exit(1);
        }
    };
    srv.tcp_port = if srv.config.port != 0 {
        srv.config.port
    } else {
        srv.config.tls_port as u16
    };
    let wd = srv.config.watchdog_period;
    if wd > 0 {
        ferrokv::crash::set_watchdog_period(wd, srv.hz);
    }
    // clusterInit (before the listeners' mode line, as Redis).
    if srv.config.cluster_enabled {
        match ferrokv::cluster::local::Cluster::init(&srv.config, ferrokv::clock::wall_ms()) {
            Ok(c) => {
                srv.cluster = Some(Box::new(c));
                srv.dbs[0].index_slots();
                if ferrokv::cluster_bus::listen(&mut srv).is_err() {
                    std::process::exit(1);
                }
            }
            Err(()) => std::process::exit(1),
        }
    }
    let mode = if srv.cluster.is_some() {
        "cluster"
    } else {
        "standalone"
    };
    info!(
        "ferrokv {} (Redis {} compatible) 64 bit, {} mode, Port: {} PID: {}",
        VERSION, REDIS_VERSION, mode, srv.tcp_port, pid
    );
    info!("Running mode={}, port={}.", mode, srv.tcp_port);
    warn!("Server initialized");
    if let Some(mib) = ferrokv::alloc::slab::arena_shortfall_mib() {
        warn!(
            "WARNING the slab arena that holds dict entries is only {} MB (the address space is limited, ulimit -v): commands that add keys are refused with OOM once it is nearly full.",
            mib
        );
    }
    // linuxMemoryWarnings' THP part: with THP "always", disable-thp turns
    // it off for this process (copy-on-write of 2 MB pages after fork,
    // latency), else Redis's warning.
    if ferrokv::alloc::thp_always() && !(srv.config.disable_thp && ferrokv::alloc::disable_thp()) {
        warn!("WARNING {}", ferrokv::alloc::THP_WARNING);
    }
    // moduleLoadFromQueue: ferrokv has no modules, so a `loadmodule`
    // line is a module that cannot load, and the server aborts as Redis.
    if let Some(path) = srv.config.loadmodules.first() {
        ferrokv::commands::module::log_load_failure(path);
        warn!("Can't load module from {}: server aborting", path);
        std::process::exit(1);
    }
    srv.config.set_proc_title(None);
    if let Err(e) = event_loop::init(&mut srv, listeners) {
        warn!("Event loop failed: {}", e);
        std::process::exit(1);
    }
    load_data(&mut srv);
    // appendonly yes: the AOF is loaded instead of the RDB.
    ferrokv::persist::aof::load_at_startup(&mut srv);
    // verifyClusterConfigWithData.
    if let Some(mut cl) = srv.cluster.take() {
        let replica = cl.state.myself_node().is_replica();
        if !replica && srv.dbs.iter().skip(1).any(|d| !d.dict.is_empty()) {
            warn!("You can't have keys in a DB different than DB 0 when in Cluster mode. Exiting.");
            std::process::exit(1);
        }
        let index = srv.dbs[0].slots.as_deref();
        if cl
            .verify_with_data(|s| index.map_or(0, |i| i.count(s)))
            .is_err()
        {
            std::process::exit(1);
        }
        srv.cluster = Some(cl);
    }
    let unixsocket = srv.config.unixsocket.clone();
    // main(): the event loop is pinned after the data is loaded.
    ferrokv::util::affinity::set_current_thread(&srv.config.server_cpulist);
    let code = match event_loop::run(srv) {
        Ok(code) => code,
        Err(e) => {
            warn!("Event loop failed: {}", e);
            1
        }
    };
    if !pidfile.is_empty() {
        let _ = std::fs::remove_file(&pidfile);
    }
    if !unixsocket.is_empty() {
        let _ = std::fs::remove_file(&unixsocket);
    }
    std::process::exit(code);
}

/// Loads the RDB file at startup (before "Ready to accept connections");
/// the AOF, when enabled, is loaded instead by the AOF module.
fn load_data(srv: &mut Server) {
    if !srv.config.appendonly {
        ferrokv::persist::rdb_server::load_at_startup(srv);
    }
}
