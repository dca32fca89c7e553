//! Every error reply ferrokv sends, worded in one place.
//!
//! Handlers return `Err(CmdError::...)`; the dispatcher turns it into the
//! exact text Redis 7.0 sends (clients and test suites match on these
//! strings). Formatted errors are built by the constructor functions below,
//! never by `format!` in a handler.

use std::borrow::Cow;

/// An error a command can reply with. `message()` is the full reply text
/// without the leading '-' and trailing CRLF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CmdError {
    WrongType,
    NotInteger,
    NotFloat,
    Syntax,
    NoSuchKey,
    IndexOutOfRange,
    Overflow,
    NanOrInfinity,
    StringTooLong,
    DbIndexOutOfRange,
    NoAuth,
    /// A fixed message from the constants below.
    Static(&'static str),
    /// A message built by one of the constructor functions below.
    Formatted(String),
}

pub type CmdResult = Result<(), CmdError>;

impl CmdError {
    pub fn message(&self) -> Cow<'_, str> {
        Cow::Borrowed(match self {
            CmdError::WrongType => {
                "WRONGTYPE Operation against a key holding the wrong kind of value"
            }
            CmdError::NotInteger => "ERR value is not an integer or out of range",
            CmdError::NotFloat => "ERR value is not a valid float",
            CmdError::Syntax => "ERR syntax error",
            CmdError::NoSuchKey => "ERR no such key",
            CmdError::IndexOutOfRange => "ERR index out of range",
            CmdError::Overflow => "ERR increment or decrement would overflow",
            CmdError::NanOrInfinity => "ERR increment would produce NaN or Infinity",
            CmdError::StringTooLong => {
                "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
            }
            CmdError::DbIndexOutOfRange => "ERR DB index is out of range",
            CmdError::NoAuth => "NOAUTH Authentication required.",
            CmdError::Static(s) => s,
            CmdError::Formatted(s) => return Cow::Borrowed(s.as_str()),
        })
    }

    /// The error code counted in INFO errorstats (first word of the message).
    pub fn code(&self) -> String {
        let m = self.message();
        m.split(' ').next().unwrap_or("ERR").to_string()
    }
}

impl From<&'static str> for CmdError {
    fn from(s: &'static str) -> CmdError {
        CmdError::Static(s)
    }
}

// ---- fixed messages -------------------------------------------------------

pub const UNBLOCKED: &str = "UNBLOCKED client unblocked via CLIENT UNBLOCK";
pub const CLIENT_CACHING_YES_OPTIN: &str =
    "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.";
pub const CLIENT_CACHING_NO_OPTOUT: &str =
    "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.";
pub const TRACKING_SINGLE_REDIRECT: &str =
    "ERR A client can only redirect to a single other client";
pub const TRACKING_REDIRECT_MISSING: &str = "ERR The client ID you want redirect to does not exist";
pub const TRACKING_PREFIX_NEEDS_BCAST: &str = "ERR PREFIX option requires BCAST mode to be enabled";
pub const TRACKING_BCAST_SWITCH: &str = "ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.";
pub const TRACKING_OPT_BCAST: &str = "ERR OPTIN and OPTOUT are not compatible with BCAST";
pub const TRACKING_OPTIN_OPTOUT: &str = "ERR You can't use both OPTIN and OPTOUT";
pub const TRACKING_OPT_SWITCH: &str = "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.";
/// Sent (raw, with CRLF) to non-loopback clients in protected mode.
pub const PROTECTED_MODE_DENIED: &str = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Set up an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";
pub const OFFSET_OUT_OF_RANGE: &str = "ERR offset is out of range";
pub const BIT_OFFSET: &str = "ERR bit offset is not an integer or out of range";
pub const BIT_VALUE: &str = "ERR bit is not an integer or out of range";
pub const NOT_IN_RANGE_MAX: &str = "ERR value is out of range, must be positive";
pub const SAME_OBJECT: &str = "ERR source and destination objects are the same";
pub const NX_XX: &str = "ERR XX and NX options at the same time are not compatible";
pub const NX_XX_GT_LT: &str = "ERR NX and XX, GT or LT options at the same time are not compatible";
pub const GT_LT: &str = "ERR GT and LT options at the same time are not compatible";
pub const AUTH_NOT_CONFIGURED: &str = "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?";
pub const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";
pub const NOPROTO: &str = "NOPROTO unsupported protocol version";
pub const MAX_CLIENTS: &str = "ERR max number of clients reached";
pub const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";
pub const LOADING: &str = "LOADING Redis is loading the dataset in memory";
pub const SWAPDB_INDEX: &str = "ERR invalid first DB index";
pub const SWAPDB_INDEX2: &str = "ERR invalid second DB index";
pub const TIMEOUT_NEGATIVE: &str = "ERR timeout is negative";
pub const TIMEOUT_INVALID: &str = "ERR timeout is not a float or out of range";
pub const CLIENT_NAME_SPACES: &str =
    "ERR Client names cannot contain spaces, newlines or special characters.";
pub const NO_SUCH_CLIENT: &str = "ERR No such client";
pub const CLIENT_ID_INVALID: &str = "ERR client-id should be greater than 0";
pub const DEBUG_DISABLED: &str = "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.";
pub const MODULE_DISABLED: &str = "ERR MODULE command not allowed. If the enable-module-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.";
pub const MODULE_LOAD_FAILED: &str =
    "ERR Error loading the extension. Please check the server logs.";
pub const MODULE_UNLOAD_NO_SUCH: &str = "ERR Error unloading module: no such module with that name";
pub const LCS_TOO_BIG: &str =
    "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len";
pub const LCS_TOO_LONG: &str = "ERR String too long for LCS";
pub const LCS_ALLOC: &str = "ERR Insufficient memory, failed allocating transient memory for LCS";
pub const OBJECT_IDLETIME_LFU: &str = "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";
pub const OBJECT_FREQ_NOT_LFU: &str = "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";
pub const LCS_IDX_AND_LEN: &str =
    "ERR If you want both the length and indexes, please just use IDX.";
pub const SCAN_CURSOR: &str = "ERR invalid cursor";
pub const ZSET_MINMAX_NOT_FLOAT: &str = "ERR min or max is not a float";
pub const ZSET_MINMAX_NOT_LEX: &str = "ERR min or max not valid string range item";
pub const ZSET_SCORE_NAN: &str = "ERR resulting score is not a number (NaN)";
pub const PROTOCOL_INVALID_BULK_LEN: &str = "ERR Protocol error: invalid bulk length";
pub const PROTOCOL_INVALID_MULTIBULK_LEN: &str = "ERR Protocol error: invalid multibulk length";
pub const PROTOCOL_UNBALANCED_QUOTES: &str = "ERR Protocol error: unbalanced quotes in request";
pub const PROTOCOL_TOO_BIG_INLINE: &str = "ERR Protocol error: too big inline request";
pub const PROTOCOL_TOO_BIG_MBULK: &str = "ERR Protocol error: too big mbulk count string";
pub const PROTOCOL_TOO_BIG_BULK: &str = "ERR Protocol error: too big bulk count string";
pub const EXEC_WITHOUT_MULTI: &str = "ERR EXEC without MULTI";
pub const DISCARD_WITHOUT_MULTI: &str = "ERR DISCARD without MULTI";
pub const EXECABORT: &str = "EXECABORT Transaction discarded because of previous errors.";
pub const WATCH_INSIDE_MULTI: &str = "ERR WATCH inside MULTI is not allowed";
pub const EXEC_NESTED: &str = "ERR MULTI calls can not be nested";
pub const NOT_ALLOWED_IN_MULTI: &str = "ERR Command not allowed inside a transaction";
pub const NO_CONFIG_FILE: &str = "ERR The server is running without a config file";
pub const INVALID_COMMAND_SPECIFIED: &str = "ERR Invalid command specified";
/// A command reading a value kept as bytes because it failed the DUMP
/// payload integrity check (`object::ValueRef::Corrupt`).
pub const CORRUPT_VALUE: &str = "ERR The value at this key failed the payload integrity check (restored with sanitize-dump-payload no) and cannot be read";
pub const SORT_BY_DENIED: &str =
    "ERR BY option of SORT denied due to insufficient ACL permissions.";
pub const SORT_GET_DENIED: &str =
    "ERR GET option of SORT denied due to insufficient ACL permissions.";
pub const INVALID_COMMAND_ARGC: &str = "ERR Invalid number of arguments specified for command";
pub const INVALID_COMMAND_ARGS: &str = "ERR Invalid arguments specified for command";
pub const COMMAND_NO_KEYS: &str = "ERR The command has no key arguments";
pub const BITPOS_BIT: &str = "ERR The bit argument must be 1 or 0.";
pub const BITFIELD_TYPE: &str = "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";
pub const BITFIELD_OVERFLOW: &str = "ERR Invalid OVERFLOW type specified";
pub const BITFIELD_RO_GET_ONLY: &str = "ERR BITFIELD_RO only supports the GET subcommand";
pub const BITOP_NOT_SINGLE: &str = "ERR BITOP NOT must be called with a single source key.";
pub const HLL_WRONGTYPE: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";
pub const HLL_INVALIDOBJ: &str = "INVALIDOBJ Corrupted HLL object detected";
pub const HLL_NOT_SPARSE: &str = "ERR HLL encoding is not sparse";
pub const PFDEBUG_NO_KEY: &str = "ERR The specified key does not exist";
pub const TIMEOUT_OUT_OF_RANGE: &str = "ERR timeout is out of range";
pub const STREAM_INVALID_ID: &str = "ERR Invalid stream ID specified as stream command argument";
pub const STREAM_ID_TOO_SMALL: &str =
    "ERR The ID specified in XADD is equal or smaller than the target stream top item";
pub const STREAM_ID_ZERO: &str = "ERR The ID specified in XADD must be greater than 0-0";
pub const STREAM_MAXLEN_NEGATIVE: &str = "ERR The MAXLEN argument must be >= 0.";
pub const STREAM_LIMIT_NEGATIVE: &str = "ERR The LIMIT argument must be >= 0.";
pub const STREAM_LIMIT_NEEDS_APPROX: &str =
    "ERR syntax error, LIMIT cannot be used without the special ~ option";
pub const STREAM_MAXLEN_MINID: &str =
    "ERR syntax error, MAXLEN and MINID options at the same time are not compatible";
pub const STREAM_INVALID_START: &str = "ERR invalid start ID for the interval";
pub const STREAM_INVALID_END: &str = "ERR invalid end ID for the interval";
pub const XREAD_UNBALANCED: &str =
    "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.";
pub const TIMEOUT_NOT_INTEGER: &str = "ERR timeout is not an integer or out of range";
pub const CLIENT_PAUSE_MODE: &str = "ERR CLIENT PAUSE mode must be WRITE or ALL";
pub const CLIENT_UNBLOCK_REASON: &str = "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR";
pub const CLIENT_CACHING_NOT_TRACKING: &str = "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled";
/// ferrokv-specific: CLIENT TRACKING ON is refused rather than accepted
/// without ever sending invalidation messages.
pub const INVALID_CLIENT_ID: &str = "ERR Invalid client ID";
pub const SLOWLOG_COUNT: &str = "ERR count should be greater than or equal to -1";
pub const NO_SHUTDOWN_IN_PROGRESS: &str = "ERR No shutdown in progress.";
pub const DEBUG_OUT_OF_RANGE_DB: &str = "ERR Out of range database";
pub const DEBUG_NOT_HASH_TABLE: &str =
    "ERR The value stored at the specified key is not represented using an hash table";
pub const DEBUG_NOT_LISTPACK: &str = "ERR Not a listpack encoded object.";
pub const DEBUG_NOT_QUICKLIST: &str = "ERR Not a quicklist encoded object.";
pub const DEBUG_NOT_SDS: &str = "ERR Not an sds encoded string.";
/// MALLCTL on a build without jemalloc keys: strerror(ENOENT).
pub const DEBUG_MALLCTL_NO_KEY: &str = "ERR No such file or directory";
pub const DEBUG_CLUSTER_ONLY: &str =
    "ERR Debug option only available for cluster mode enabled setup!";
pub const DEBUG_CLIENT_EVICTION_OFF: &str = "ERR maxmemory-clients is disabled.";
pub const DEBUG_RESTART_FAILED: &str = "ERR failed to restart the server. Check server logs.";
pub const DEBUG_PROTOCOL_TYPE: &str = "ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false";
pub const RESP2_NOT_SUPPORTED: &str = "ERR RESP2 is not supported by this command";
pub const DEBUG_QUICKLIST_THRESHOLD: &str =
    "ERR argument must be a memory value bigger than 1 and smaller than 4gb";
pub const DEBUG_RELOAD_OPTIONS: &str =
    "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.";

// hash type (t_hash.c)
pub const HASH_NOT_INTEGER: &str = "ERR hash value is not an integer";
pub const HASH_NOT_FLOAT: &str = "ERR hash value is not a float";
pub const VALUE_NAN_OR_INF: &str = "ERR value is NaN or Infinity";
pub const VALUE_OUT_OF_RANGE: &str = "ERR value is out of range";
// ---- sets (t_set.c) --------------------------------------------------------
pub const SET_SRANDMEMBER_RANGE: &str =
    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";
pub const SET_NUMKEYS_POSITIVE: &str = "ERR numkeys should be greater than 0";
pub const SET_NUMKEYS_TOO_MANY: &str = "ERR Number of keys can't be greater than number of args";
pub const SET_LIMIT_NEGATIVE: &str = "ERR LIMIT can't be negative";
// lists (t_list.c, sort.c)
pub const LPOS_RANK_ZERO: &str = "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list";
pub const LPOS_COUNT_NEGATIVE: &str = "ERR COUNT can't be negative";
pub const LPOS_MAXLEN_NEGATIVE: &str = "ERR MAXLEN can't be negative";
pub const NUMKEYS_NOT_POSITIVE: &str = "ERR numkeys should be greater than 0";
pub const MPOP_COUNT_NOT_POSITIVE: &str = "ERR count should be greater than 0";
pub const SORT_SCORE_NOT_DOUBLE: &str = "ERR One or more scores can't be converted into double";

// ---- formatted messages ---------------------------------------------------

/// Redis truncates argument echoes to 128 characters (`%.128s`).
fn trunc(b: &[u8], max: usize) -> String {
    let b = &b[..b.len().min(max)];
    String::from_utf8_lossy(b).into_owned()
}

/// Error strings may not contain CR/LF: Redis replaces them with spaces.
fn sanitize(mut s: String) -> String {
    if s.contains(['\r', '\n']) {
        s = s.replace(['\r', '\n'], " ");
    }
    s
}

pub fn unknown_command(name: &[u8], args: &[&[u8]]) -> CmdError {
    let mut list = String::new();
    for a in args {
        if list.len() >= 128 {
            break;
        }
        let room = 128 - list.len();
        list.push('\'');
        list.push_str(&trunc(a, room));
        list.push_str("' ");
    }
    CmdError::Formatted(sanitize(format!(
        "ERR unknown command '{}', with args beginning with: {}",
        trunc(name, 128),
        list
    )))
}

pub fn unknown_subcommand(sub: &[u8], cmd: &str) -> CmdError {
    CmdError::Formatted(sanitize(format!(
        "ERR unknown subcommand '{}'. Try {} HELP.",
        trunc(sub, 128),
        cmd.to_ascii_uppercase()
    )))
}

pub fn wrong_arity(fullname: &str) -> CmdError {
    CmdError::Formatted(format!(
        "ERR wrong number of arguments for '{}' command",
        fullname
    ))
}

pub fn invalid_expire(cmd: &str) -> CmdError {
    CmdError::Formatted(format!("ERR invalid expire time in '{}' command", cmd))
}

pub fn protocol_expected(what: char, got: u8) -> CmdError {
    CmdError::Formatted(sanitize(format!(
        "ERR Protocol error: expected '{}', got '{}'",
        what, got as char
    )))
}

pub fn config_set_unknown(name: &[u8]) -> CmdError {
    CmdError::Formatted(sanitize(format!(
        "ERR Unknown option or number of arguments for CONFIG SET - '{}'",
        trunc(name, 128)
    )))
}

pub fn config_set_failed(name: &str, reason: &str) -> CmdError {
    CmdError::Formatted(sanitize(format!(
        "ERR CONFIG SET failed (possibly related to argument '{}') - {}",
        name, reason
    )))
}

pub fn config_set_duplicate(name: &str) -> CmdError {
    CmdError::Formatted(format!(
        "ERR CONFIG SET failed (possibly related to argument '{}') - duplicate parameter",
        name
    ))
}

pub fn config_immutable(name: &str) -> CmdError {
    CmdError::Formatted(format!(
        "ERR CONFIG SET failed (possibly related to argument '{}') - can't set immutable config",
        name
    ))
}

pub fn config_protected(name: &str) -> CmdError {
    CmdError::Formatted(format!(
        "ERR CONFIG SET failed (possibly related to argument '{}') - can't set protected config",
        name
    ))
}

pub fn config_rewrite_failed(reason: &str) -> CmdError {
    CmdError::Formatted(sanitize(format!("ERR Rewriting config file: {}", reason)))
}

/// execCommandAbort: EXEC itself was rejected (arity, auth, pubsub
/// context...); Redis drops the "ERR " of a generic error but keeps other codes.
pub fn exec_abort(e: &CmdError) -> CmdError {
    let m = e.message();
    let reason = m.strip_prefix("ERR ").unwrap_or(&m);
    CmdError::Formatted(format!(
        "EXECABORT Transaction discarded because of: {}",
        reason
    ))
}

pub fn pubsub_context(cmd: &str) -> CmdError {
    CmdError::Formatted(format!(
        "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
        cmd
    ))
}

pub fn pfdebug_unknown_subcommand(sub: &[u8]) -> CmdError {
    CmdError::Formatted(sanitize(format!(
        "ERR Unknown PFDEBUG subcommand '{}'",
        String::from_utf8_lossy(sub)
    )))
}

/// `addReplySubcommandSyntaxError`: a known container's subcommand with a
/// bad argument count, or DEBUG's unknown subcommands.
pub fn subcommand_syntax(sub: &[u8], cmd: &str) -> CmdError {
    CmdError::Formatted(sanitize(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
        trunc(sub, 128),
        cmd.to_ascii_uppercase()
    )))
}

pub fn unknown_client_type(name: &[u8]) -> CmdError {
    CmdError::Formatted(sanitize(format!(
        "ERR Unknown client type '{}'",
        String::from_utf8_lossy(name)
    )))
}

pub fn no_such_user(name: &[u8]) -> CmdError {
    CmdError::Formatted(sanitize(format!(
        "ERR No such user '{}'",
        String::from_utf8_lossy(name)
    )))
}

pub fn tracking_prefix_overlap(a: &[u8], b: &[u8]) -> CmdError {
    CmdError::Formatted(sanitize(format!(
        "ERR Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client must not overlap.",
        String::from_utf8_lossy(a),
        String::from_utf8_lossy(b)
    )))
}

/// `getRangeLongFromObjectOrReply` with the default message.
pub fn value_must_between(min: i64, max: i64) -> CmdError {
    CmdError::Formatted(format!(
        "ERR value is out of range, value must between {} and {}",
        min, max
    ))
}

pub fn custom(msg: String) -> CmdError {
    CmdError::Formatted(sanitize(msg))
}

// --- sorted sets (t_zset.c) ---
pub const ZADD_GT_LT_NX: &str = "ERR GT, LT, and/or NX options at the same time are not compatible";
pub const ZADD_INCR_PAIR: &str = "ERR INCR option supports a single increment-element pair";
pub const ZSET_WEIGHT_NOT_FLOAT: &str = "ERR weight value is not a float";
pub const ZRANGE_LIMIT_RANK: &str =
    "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX";
pub const ZRANGE_WITHSCORES_LEX: &str =
    "ERR syntax error, WITHSCORES not supported in combination with BYLEX";
pub const NUMKEYS_POSITIVE: &str = "ERR numkeys should be greater than 0";
pub const COUNT_POSITIVE: &str = "ERR count should be greater than 0";
pub const LIMIT_NEGATIVE: &str = "ERR LIMIT can't be negative";

/// "ERR at least 1 input key is needed for '<cmd>' command".
pub fn zset_needs_input_key(cmd: &str) -> CmdError {
    CmdError::Formatted(format!(
        "ERR at least 1 input key is needed for '{}' command",
        cmd
    ))
}

// --- geo (geo.c) ---
pub const GEO_UNSUPPORTED_UNIT: &str = "ERR unsupported unit provided. please use M, KM, FT, MI";
pub const GEO_NEED_NUMERIC_RADIUS: &str = "ERR need numeric radius";
pub const GEO_RADIUS_NEGATIVE: &str = "ERR radius cannot be negative";
pub const GEO_NEED_NUMERIC_WIDTH: &str = "ERR need numeric width";
pub const GEO_NEED_NUMERIC_HEIGHT: &str = "ERR need numeric height";
pub const GEO_BOX_NEGATIVE: &str = "ERR height or width cannot be negative";
pub const GEO_DECODE_MEMBER: &str = "ERR could not decode requested zset member";
pub const GEO_COUNT_POSITIVE: &str = "ERR COUNT must be > 0";
pub const GEO_ANY_NEEDS_COUNT: &str = "ERR the ANY argument requires COUNT argument";

/// "ERR invalid longitude,latitude pair %f,%f".
pub fn geo_invalid_pair(lon: f64, lat: f64) -> CmdError {
    CmdError::Formatted(format!(
        "ERR invalid longitude,latitude pair {:.6},{:.6}",
        lon, lat
    ))
}

/// "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for <cmd>".
pub fn geo_need_from(cmd: &[u8]) -> CmdError {
    CmdError::Formatted(format!(
        "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {}",
        String::from_utf8_lossy(cmd)
    ))
}

/// "ERR exactly one of BYRADIUS and BYBOX can be specified for <cmd>".
pub fn geo_need_by(cmd: &[u8]) -> CmdError {
    CmdError::Formatted(format!(
        "ERR exactly one of BYRADIUS and BYBOX can be specified for {}",
        String::from_utf8_lossy(cmd)
    ))
}

/// "ERR <GEOSEARCHSTORE|STORE option in GEORADIUS> is not compatible with
/// WITHDIST, WITHHASH and WITHCOORD options".
pub fn geo_store_with(searchstore: bool) -> CmdError {
    CmdError::Formatted(format!(
        "ERR {} is not compatible with WITHDIST, WITHHASH and WITHCOORD options",
        if searchstore {
            "GEOSEARCHSTORE"
        } else {
            "STORE option in GEORADIUS"
        }
    ))
}
// ---- scripting (EVAL / FUNCTION) ---------------------------------------------
pub const NOSCRIPT: &str = "NOSCRIPT No matching script. Please use EVAL.";
pub const SCRIPT_NOTBUSY: &str = "NOTBUSY No scripts in execution right now.";
/// A script (or its compilation) stopped by SCRIPT KILL / SHUTDOWN NOSAVE.
pub const SCRIPT_KILLED: &str = "ERR Script killed by user with SCRIPT KILL...";
pub const SCRIPT_UNKILLABLE: &str = "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.";
pub const BUSY_SCRIPT: &str =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
pub const BUSY_FUNCTION: &str =
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";
pub const NUMKEYS_TOO_BIG: &str = "ERR Number of keys can't be greater than number of args";
pub const NUMKEYS_NEGATIVE: &str = "ERR Number of keys can't be negative";
pub const SCRIPT_FLUSH_OPTION: &str = "ERR SCRIPT FLUSH only support SYNC|ASYNC option";
pub const FUNCTION_FLUSH_OPTION: &str = "ERR FUNCTION FLUSH only supports SYNC|ASYNC option";
pub const SCRIPT_NO_CLUSTER: &str = "ERR Can not run script on cluster, 'no-cluster' flag is set.";
pub const SCRIPT_RO_WRITE: &str =
    "ERR Can not execute a script with write flag using *_ro command.";
pub const FUNCTION_NOT_FOUND: &str = "ERR Function not found";
pub const LIBRARY_NOT_FOUND: &str = "ERR Library not found";
pub const FUNCTION_MISSING_METADATA: &str = "ERR Missing library metadata";
pub const FUNCTION_NO_NAME: &str = "ERR Library name was not given";
pub const FUNCTION_NONE_REGISTERED: &str = "ERR No functions registered";
pub const FUNCTION_LIB_NAME_INVALID: &str = "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";
pub const FUNCTION_RESTORE_PAYLOAD: &str = "ERR DUMP payload version or checksum are wrong";
pub const FUNCTION_RESTORE_POLICY: &str =
    "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.";
pub const FCALL_BAD_NUMKEYS: &str = "ERR Bad number of keys provided";
pub const SCRIPT_DEBUG_MODE: &str = "ERR Use SCRIPT DEBUG YES/SYNC/NO";
pub const SCRIPT_DEBUG_PIPELINE: &str = "ERR SCRIPT DEBUG must be called outside a pipeline";
pub const SCRIPT_DEBUG_EVALSHA: &str = "ERR Please use EVAL instead of EVALSHA for debugging";
pub const FUNCTION_LIST_NO_LIBNAME: &str = "ERR library name argument was not given";

// ---- replication ------------------------------------------------------------
pub const READONLY_REPLICA: &str = "READONLY You can't write against a read only replica.";
pub const REPLICA_KEYSPACE: &str = "ERR Replica can't interact with the keyspace";
pub const NOMASTERLINK: &str = "NOMASTERLINK Can't SYNC while not connected with my master";
pub const SYNC_WHILE_FAILING_OVER: &str = "NOMASTERLINK Can't SYNC while failing over";
pub const PSYNC_FAILOVER_TO_MASTER: &str = "ERR PSYNC FAILOVER can't be sent to a master.";
pub const PSYNC_FAILOVER_REPLID: &str = "ERR PSYNC FAILOVER replid must match my replid.";
pub const REPLICAOF_WHILE_FAILING_OVER: &str = "ERR REPLICAOF not allowed while failing over.";
// FAILOVER (failoverCommand).
pub const NO_FAILOVER_IN_PROGRESS: &str = "ERR No failover in progress.";
pub const FAILOVER_TIMEOUT_POSITIVE: &str = "ERR FAILOVER timeout must be greater than 0";
pub const FAILOVER_IN_PROGRESS: &str = "ERR FAILOVER already in progress.";
pub const FAILOVER_ON_REPLICA: &str = "ERR FAILOVER is not valid when server is a replica.";
pub const FAILOVER_NO_REPLICAS: &str = "ERR FAILOVER requires connected replicas.";
pub const FAILOVER_FORCE_ARGS: &str =
    "ERR FAILOVER with force option requires both a timeout and target HOST and IP.";
pub const FAILOVER_NOT_A_REPLICA: &str = "ERR FAILOVER target HOST and PORT is not a replica.";
pub const FAILOVER_TARGET_NOT_ONLINE: &str = "ERR FAILOVER target replica is not online.";
pub const WAIT_ON_REPLICA: &str = "ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.";
pub const INVALID_MASTER_PORT: &str = "ERR Invalid master port";
pub const REPLCONF_RDB_ONLY_RANGE: &str = "ERR value is out of range, value must between 0 and 1";
pub const REPLCONF_FILTER_MISSING: &str = "ERR Missing rdb-filter-only values";
pub const FILTERED_REPLICA_NEEDS_EOF: &str = "ERR Filtered replica requires EOF capability";
pub const REPL_BGSAVE_FAILED: &str = "ERR BGSAVE failed, replication can't continue";
pub const REPLICAOF_FROM_MASTER: &str = "ERR Command is not valid when client is a replica.";
pub const NOREPLICAS: &str = "NOREPLICAS Not enough good replicas to write.";
/// scriptVerifyAllowStale: a script's command on a stale replica.
pub const SCRIPT_STALE: &str = "ERR Can not execute the command on a stale replica";
pub const MASTERDOWN: &str =
    "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.";

/// REPLCONF with an option it does not know.
pub fn replconf_filter_unsupported(filter: &[u8]) -> CmdError {
    CmdError::Formatted(format!(
        "ERR Unsupported rdb-filter-only option: {}",
        String::from_utf8_lossy(filter)
    ))
}

pub fn replconf_unknown(opt: &[u8]) -> CmdError {
    CmdError::Formatted(format!(
        "ERR Unrecognized REPLCONF option: {}",
        String::from_utf8_lossy(opt)
    ))
}

// ---- persistence: RDB (SAVE / BGSAVE / DUMP / RESTORE / DEBUG RELOAD) ---------
pub const BGSAVE_IN_PROGRESS: &str = "ERR Background save already in progress";
pub const BGSAVE_CHILD_ACTIVE: &str = "ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.";
/// Redis's shared.err.
pub const GENERIC_ERR: &str = "ERR";
pub const DUMP_PAYLOAD_WRONG: &str = "ERR DUMP payload version or checksum are wrong";
pub const RESTORE_BAD_DATA: &str = "ERR Bad data format";
pub const BUSYKEY: &str = "BUSYKEY Target key name already exists.";

// ---- MIGRATE (cluster.c migrateCommand) -----------------------------------

pub const CLUSTER_DISABLED: &str = "ERR This instance has cluster support disabled";
pub const MIGRATE_KEYS_NEED_EMPTY_KEY: &str =
    "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string";
pub const MIGRATE_CONNECT: &str = "IOERR error or timeout connecting to the client";
pub const MIGRATE_WRITING: &str = "IOERR error or timeout writing to target instance";
pub const MIGRATE_READING: &str = "IOERR error or timeout reading to target instance";

/// The target's error reply line (without its '-'), as MIGRATE relays it.
pub fn migrate_target_error(line: &[u8]) -> CmdError {
    CmdError::Formatted(sanitize(format!(
        "ERR Target instance replied with error: {}",
        String::from_utf8_lossy(line)
    )))
}
pub const RESTORE_BAD_TTL: &str = "ERR Invalid TTL value, must be >= 0";
pub const RESTORE_BAD_IDLETIME: &str = "ERR Invalid IDLETIME value, must be >= 0";
pub const RESTORE_BAD_FREQ: &str = "ERR Invalid FREQ value, must be >= 0 and <= 255";
pub const MISCONF: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";
pub const DEBUG_RELOAD_LOAD: &str = "ERR Error trying to load the RDB dump, check server logs.";
pub const SHUTDOWN_ERRORS: &str = "ERR Errors trying to SHUTDOWN. Check logs.";
pub const SHUTDOWN_DENY_BLOCKING: &str =
    "ERR SHUTDOWN without NOW or ABORT isn't allowed for DENY BLOCKING client";

// ---- append-only file (persist::aof) ----
pub const AOF_REWRITE_IN_PROGRESS: &str =
    "ERR Background append only file rewriting already in progress";
pub const AOF_REWRITE_FAILED: &str =
    "ERR Can't execute an AOF background rewriting. Please check the server logs for more information.";

/// Writes refused after an AOF write error (writeCommandsDeniedByDiskError).
pub fn aof_misconf(reason: &str) -> CmdError {
    CmdError::Formatted(format!(
        "MISCONF Errors writing to the AOF file: {}",
        reason
    ))
}
pub const XSETID_ENTRIES_ADDED: &str = "ERR entries_added must be positive";
pub const XSETID_SMALLER_THAN_MAXDEL: &str =
    "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id";
pub const XSETID_SMALLER_THAN_TOP: &str =
    "ERR The ID specified in XSETID is smaller than the target stream top item";
pub const XSETID_ENTRIES_TOO_SMALL: &str =
    "ERR The entries_added specified in XSETID is smaller than the target stream length";

// ---- ACL (acl.rs, commands/acl_cmd.rs) ----
pub const NOPERM_KEYS: &str =
    "NOPERM this user has no permissions to access one of the keys used as arguments";
pub const NOPERM_CHANNELS: &str =
    "NOPERM this user has no permissions to access one of the channels used as arguments";
pub const ACL_SCRIPT_CMD: &str =
    "The user executing the script can't run this command or subcommand";
pub const ACL_SCRIPT_KEY: &str =
    "The user executing the script can't access at least one of the keys mentioned in the command";
pub const ACL_SCRIPT_CHANNEL: &str =
    "The user executing the script can't publish to the channel mentioned in the command";
pub const ACL_USERNAME_SPACES: &str = "ERR Usernames can't contain spaces or null characters";
pub const ACL_DEFAULT_UNDELETABLE: &str = "ERR The 'default' user cannot be removed";
pub const ACL_NO_FILE: &str = "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.";
pub const ACL_SAVE_FAILED: &str = "ERR There was an error trying to save the ACLs. Please check the server logs for more information";
pub const ACL_GENPASS_RANGE: &str = "ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096";

/// processCommand's NOPERM for a denied command.
pub fn noperm_command(fullname: &str) -> CmdError {
    CmdError::Formatted(format!(
        "NOPERM this user has no permissions to run the '{}' command",
        fullname
    ))
}

/// ACL SETUSER with a bad rule.
pub fn acl_setuser_rule(rule: &[u8], msg: &str) -> CmdError {
    CmdError::Formatted(sanitize(format!(
        "ERR Error in ACL SETUSER modifier '{}': {}",
        String::from_utf8_lossy(rule),
        msg
    )))
}

pub fn acl_unmatched_paren(arg: &[u8]) -> CmdError {
    CmdError::Formatted(sanitize(format!(
        "ERR Unmatched parenthesis in acl selector starting at '{}'.",
        String::from_utf8_lossy(arg)
    )))
}

pub fn acl_unknown_category(name: &[u8]) -> CmdError {
    let n = &name[..name.len().min(128)];
    CmdError::Formatted(sanitize(format!(
        "ERR Unknown category '{}'",
        String::from_utf8_lossy(n)
    )))
}

pub fn acl_dryrun_user(name: &[u8]) -> CmdError {
    CmdError::Formatted(sanitize(format!(
        "ERR User '{}' not found",
        String::from_utf8_lossy(name)
    )))
}

pub fn acl_dryrun_command(name: &[u8]) -> CmdError {
    CmdError::Formatted(sanitize(format!(
        "ERR Command '{}' not found",
        String::from_utf8_lossy(name)
    )))
}

/// EXEC found a queued command no longer allowed.
pub fn acl_exec_changed(reason: &str) -> CmdError {
    CmdError::Formatted(format!(
        "NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: {}",
        reason
    ))
}

// ---- stream consumer groups (commands::stream_groups) ----
pub const XGROUP_NEEDS_KEY: &str = "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.";
pub const BUSYGROUP: &str = "BUSYGROUP Consumer Group name already exists";
pub const ENTRIESREAD_RANGE: &str = "ERR value for ENTRIESREAD must be positive or -1";
pub const XREAD_GROUP_OPTION: &str =
    "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.";
pub const XREAD_NOACK_OPTION: &str =
    "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.";
pub const XREADGROUP_MISSING_GROUP: &str = "ERR Missing GROUP option for XREADGROUP";
pub const XREADGROUP_DOLLAR: &str = "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.";
pub const XREAD_GT_ID: &str =
    "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.";
pub const XCLAIM_MIN_IDLE: &str = "ERR Invalid min-idle-time argument for XCLAIM";
pub const XCLAIM_IDLE: &str = "ERR Invalid IDLE option argument for XCLAIM";
pub const XCLAIM_TIME: &str = "ERR Invalid TIME option argument for XCLAIM";
pub const XCLAIM_RETRYCOUNT: &str = "ERR Invalid RETRYCOUNT option argument for XCLAIM";
pub const XAUTOCLAIM_MIN_IDLE: &str = "ERR Invalid min-idle-time argument for XAUTOCLAIM";
pub const XAUTOCLAIM_COUNT: &str = "ERR COUNT must be > 0";
pub const UNBLOCKED_STREAM_GONE: &str = "UNBLOCKED the stream key no longer exists";
pub const NOGROUP_BLOCKED_GONE: &str =
    "NOGROUP the consumer group this client was blocked on no longer exists";

/// `-NOGROUP No such consumer group '<g>' for key name '<k>'` (XGROUP, XINFO).
pub fn nogroup_for_key(group: &[u8], key: &[u8]) -> CmdError {
    CmdError::Formatted(sanitize(format!(
        "NOGROUP No such consumer group '{}' for key name '{}'",
        String::from_utf8_lossy(group),
        String::from_utf8_lossy(key)
    )))
}

/// `-NOGROUP No such key '<k>' or consumer group '<g>'<suffix>` (XREADGROUP,
/// XPENDING, XCLAIM, XAUTOCLAIM).
pub fn nogroup_key_or_group(key: &[u8], group: &[u8], xreadgroup: bool) -> CmdError {
    CmdError::Formatted(sanitize(format!(
        "NOGROUP No such key '{}' or consumer group '{}'{}",
        String::from_utf8_lossy(key),
        String::from_utf8_lossy(group),
        if xreadgroup {
            " in XREADGROUP with GROUP option"
        } else {
            ""
        }
    )))
}

/// `Unrecognized XCLAIM option '<opt>'`.
pub fn xclaim_bad_option(opt: &[u8]) -> CmdError {
    CmdError::Formatted(sanitize(format!(
        "ERR Unrecognized XCLAIM option '{}'",
        String::from_utf8_lossy(opt)
    )))
}

/// XREAD / XREADGROUP with BLOCK called from a script.
pub fn block_from_script(cmd: &str) -> CmdError {
    CmdError::Formatted(format!(
        "ERR {} command is not allowed with BLOCK option from scripts",
        cmd
    ))
}

/// FUNCTION LOAD with an argument other than REPLACE before the code.
pub fn unknown_option_given(opt: &str) -> CmdError {
    CmdError::Formatted(format!("ERR Unknown option given: {}", opt))
}

// ---- Cluster mode (cluster.c clusterCommand, clusterRedirectClient) --------

pub const CLUSTER_INVALID_SLOT: &str = "ERR Invalid or out of range slot";
pub const CLUSTER_INVALID_SLOT_SHORT: &str = "ERR Invalid slot";
pub const CLUSTER_INVALID_SLOT_OR_KEYS: &str = "ERR Invalid slot or number of keys";
pub const CLUSTER_FLUSHSLOTS_NOT_EMPTY: &str =
    "ERR DB must be empty to perform CLUSTER FLUSHSLOTS.";
pub const CLUSTER_SETSLOT_REPLICA: &str = "ERR Please use SETSLOT only with masters.";
pub const CLUSTER_TARGET_NOT_MASTER: &str = "ERR Target node is not a master";
pub const CLUSTER_SETSLOT_SYNTAX: &str =
    "ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP";
pub const CLUSTER_EPOCH_OTHER_NODES: &str =
    "ERR The user can assign a config epoch only when the node does not know any other node.";
pub const CLUSTER_EPOCH_NONZERO: &str = "ERR Node config epoch is already non-zero";
pub const CLUSTER_RESET_WITH_KEYS: &str =
    "ERR CLUSTER RESET can't be called with master nodes containing keys";
pub const CLUSTER_FORGET_MYSELF: &str = "ERR I tried hard but I can't forget myself...";
pub const CLUSTER_FORGET_MASTER: &str = "ERR Can't forget my master!";
pub const CLUSTER_SELECT: &str = "ERR SELECT is not allowed in cluster mode";
pub const CLUSTER_SWAPDB: &str = "ERR SWAPDB is not allowed in cluster mode";
pub const CROSSSLOT: &str = "CROSSSLOT Keys in request don't hash to the same slot";
pub const TRYAGAIN: &str = "TRYAGAIN Multiple keys request during rehashing of slot";
pub const CLUSTERDOWN: &str = "CLUSTERDOWN The cluster is down";
pub const CLUSTERDOWN_RO: &str = "CLUSTERDOWN The cluster is down and only accepts read commands";
pub const CLUSTERDOWN_UNBOUND: &str = "CLUSTERDOWN Hash slot not served";
pub const SCRIPT_NON_LOCAL_KEY: &str =
    "ERR Script attempted to access a non local key in a cluster node";

pub fn cluster_slot_busy(slot: usize) -> CmdError {
    CmdError::Formatted(format!("ERR Slot {} is already busy", slot))
}

pub fn cluster_slot_unassigned(slot: usize) -> CmdError {
    CmdError::Formatted(format!("ERR Slot {} is already unassigned", slot))
}

pub fn cluster_slot_twice(slot: usize) -> CmdError {
    CmdError::Formatted(format!("ERR Slot {} specified multiple times", slot))
}

pub fn cluster_slot_range_order(start: usize, end: usize) -> CmdError {
    CmdError::Formatted(format!(
        "ERR start slot number {} is greater than end slot number {}",
        start, end
    ))
}

pub fn cluster_not_owner(slot: usize) -> CmdError {
    CmdError::Formatted(format!("ERR I'm not the owner of hash slot {}", slot))
}

pub fn cluster_already_owner(slot: usize) -> CmdError {
    CmdError::Formatted(format!("ERR I'm already the owner of hash slot {}", slot))
}

pub fn cluster_unknown_node_about(name: &[u8]) -> CmdError {
    CmdError::Formatted(format!(
        "ERR I don't know about node {}",
        String::from_utf8_lossy(name)
    ))
}

pub fn cluster_unknown_node(name: &[u8]) -> CmdError {
    CmdError::Formatted(format!(
        "ERR Unknown node {}",
        String::from_utf8_lossy(name)
    ))
}

pub fn cluster_slot_has_keys(slot: usize) -> CmdError {
    CmdError::Formatted(format!(
        "ERR Can't assign hashslot {} to a different node while I still hold keys for this hash slot.",
        slot
    ))
}

pub fn cluster_invalid_epoch(epoch: i64) -> CmdError {
    CmdError::Formatted(format!("ERR Invalid config epoch specified: {}", epoch))
}

pub fn cluster_save_failed(e: &str) -> CmdError {
    CmdError::Formatted(format!("ERR error saving the cluster node config: {}", e))
}

/// -MOVED / -ASK (clusterRedirectClient).
pub fn cluster_redirect(ask: bool, slot: usize, endpoint: &str, port: u16) -> CmdError {
    CmdError::Formatted(format!(
        "{} {} {}:{}",
        if ask { "ASK" } else { "MOVED" },
        slot,
        endpoint,
        port
    ))
}
pub const CLUSTER_MOVE: &str = "ERR MOVE is not allowed in cluster mode";
pub const CLUSTER_COPY_DB: &str = "ERR Copying to another database is not allowed in cluster mode";
pub const CLUSTER_REPLICAOF: &str = "ERR REPLICAOF not allowed in cluster mode.";
pub const CLUSTER_FAILOVER_CMD: &str =
    "ERR FAILOVER not allowed in cluster mode. Use CLUSTER FAILOVER command instead.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_command_text() {
        let e = unknown_command(b"foo", &[b"a", b"b"]);
        assert_eq!(
            e.message(),
            "ERR unknown command 'foo', with args beginning with: 'a' 'b' "
        );
        assert_eq!(
            unknown_command(b"foo", &[]).message(),
            "ERR unknown command 'foo', with args beginning with: "
        );
    }

    #[test]
    fn codes() {
        assert_eq!(CmdError::WrongType.code(), "WRONGTYPE");
        assert_eq!(CmdError::Syntax.code(), "ERR");
    }
}
