//! Geo commands (Redis 7.0's geo.c): points are stored in a sorted set
//! with their 52-bit geohash as score. GEOADD rewrites itself into ZADD;
//! searches scan the score ranges of the centre geohash box and its
//! neighbours (`ds::geohash`), filter by the exact shape, then sort, reply
//! or store. GEOSEARCH[STORE], GEORADIUS[BYMEMBER][_RO], GEODIST, GEOHASH,
//! GEOPOS.

use super::typed::read;
use crate::blocking;
use crate::client::Client;
use crate::cmdtable::meta::GetKeys;
use crate::cmdtable::WrittenKeys;
use crate::cmdtable::{cmd, CommandSpec};
use crate::ds::geohash::{self, Shape, ShapeKind};
use crate::ds::skiplist::ZRangeSpec;
use crate::error::{self, CmdError, CmdResult};
use crate::notify;
use crate::object::Value;
use crate::object::ValueRef;
use crate::protocol::args::Args;
use crate::server::Server;
use crate::types::zset::ZSetValue;
use crate::util::num;
use std::cmp::Ordering;

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    cmd("geoadd", geoadd),
    cmd("geodist", geodist),
    cmd("geohash", geohash_cmd),
    cmd("geopos", geopos),
    cmd("georadius", georadius).getkeys(GetKeys::Georadius).writing(WrittenKeys::StoreOption),
    cmd("georadius_ro", georadius_ro),
    cmd("georadiusbymember", georadiusbymember).getkeys(GetKeys::Georadius).writing(WrittenKeys::StoreOption),
    cmd("georadiusbymember_ro", georadiusbymember_ro),
    cmd("geosearch", geosearch),
    cmd("geosearchstore", geosearchstore).writing(WrittenKeys::At(1)),
];

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// The zset at `key` without touching stats (already looked up once).
fn geo_peek<'a>(srv: &'a Server, c: &Client, key: &[u8]) -> Option<&'a ZSetValue> {
    match srv.dbs[c.db].dict.get(key).map(|o| o.value.get()) {
        Some(ValueRef::ZSet(z)) => Some(z),
        _ => None,
    }
}

/// `extractLongLatOrReply` on `a[i]`, `a[i + 1]`.
fn extract_lon_lat(a: &Args, i: usize) -> Result<[f64; 2], CmdError> {
    let lon = a.f64(i)?;
    let lat = a.f64(i + 1)?;
    if !(geohash::GEO_LONG_MIN..=geohash::GEO_LONG_MAX).contains(&lon)
        || !(geohash::GEO_LAT_MIN..=geohash::GEO_LAT_MAX).contains(&lat)
    {
        return Err(error::geo_invalid_pair(lon, lat));
    }
    Ok([lon, lat])
}

/// `extractUnitOrReply`: metres per unit.
fn extract_unit(u: &[u8]) -> Result<f64, CmdError> {
    if u.eq_ignore_ascii_case(b"m") {
        Ok(1.0)
    } else if u.eq_ignore_ascii_case(b"km") {
        Ok(1000.0)
    } else if u.eq_ignore_ascii_case(b"ft") {
        Ok(0.3048)
    } else if u.eq_ignore_ascii_case(b"mi") {
        Ok(1609.34)
    } else {
        Err(CmdError::Static(error::GEO_UNSUPPORTED_UNIT))
    }
}

/// `extractDistanceOrReply`: (radius, conversion).
fn extract_distance(a: &Args, i: usize) -> Result<(f64, f64), CmdError> {
    let d = num::parse_f64(a.get(i)).ok_or(CmdError::Static(error::GEO_NEED_NUMERIC_RADIUS))?;
    if d < 0.0 {
        return Err(CmdError::Static(error::GEO_RADIUS_NEGATIVE));
    }
    Ok((d, extract_unit(a.get(i + 1))?))
}

/// `extractBoxOrReply`: (width, height, conversion).
fn extract_box(a: &Args, i: usize) -> Result<(f64, f64, f64), CmdError> {
    let w = num::parse_f64(a.get(i)).ok_or(CmdError::Static(error::GEO_NEED_NUMERIC_WIDTH))?;
    let h = num::parse_f64(a.get(i + 1)).ok_or(CmdError::Static(error::GEO_NEED_NUMERIC_HEIGHT))?;
    if h < 0.0 || w < 0.0 {
        return Err(CmdError::Static(error::GEO_BOX_NEGATIVE));
    }
    Ok((w, h, extract_unit(a.get(i + 2))?))
}

/// `addReplyDoubleDistance`: `%.4f` as a bulk string.
fn reply_distance(c: &mut Client, d: f64) {
    let s = format!("{:.4}", d);
    c.out.bulk(s.as_bytes());
}

/// `addReplyHumanLongDouble` of a double: `ld2string(LD_STR_HUMAN)` (`%.17Lf`
/// trimmed) as a bulk string in RESP2, as a RESP3 double otherwise.
fn reply_coord(c: &mut Client, v: f64) {
    let mut b = Vec::with_capacity(32);
    num::LongDouble::from_f64(v).write_human(&mut b);
    if c.out.resp3() {
        c.out.raw(b",");
        c.out.raw(&b);
        c.out.raw(b"\r\n");
    } else {
        c.out.bulk(&b);
    }
}

/// C's `(long long)` of a double on x86-64 (out of range → LLONG_MIN).
fn c_double_to_i64(d: f64) -> i64 {
    const TWO63: f64 = 9223372036854775808.0;
    if (-TWO63..TWO63).contains(&d) {
        d as i64
    } else {
        i64::MIN
    }
}

// ---------------------------------------------------------------------------
// GEOADD / GEODIST / GEOHASH / GEOPOS
// ---------------------------------------------------------------------------

fn geoadd(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let (mut xx, mut nx) = (false, false);
    let mut longidx = 2;
    while longidx < a.len() {
        if a.is(longidx, "nx") {
            nx = true;
        } else if a.is(longidx, "xx") {
            xx = true;
        } else if !a.is(longidx, "ch") {
            break;
        }
        longidx += 1;
    }
    if !(a.len() - longidx).is_multiple_of(3) || (xx && nx) {
        return Err(CmdError::Syntax);
    }
    // Rewrite as ZADD key [NX|XX] [CH] score member ...
    let elements = (a.len() - longidx) / 3;
    let mut buf: Vec<u8> = Vec::with_capacity(64 + elements * 32);
    let mut ranges: Vec<(usize, usize)> = Vec::with_capacity(longidx + elements * 2);
    let mut push = |buf: &mut Vec<u8>, b: &[u8]| {
        ranges.push((buf.len(), b.len()));
        buf.extend_from_slice(b);
    };
    push(&mut buf, b"zadd");
    for i in 1..longidx {
        push(&mut buf, a.get(i));
    }
    for i in 0..elements {
        let xy = extract_lon_lat(a, longidx + i * 3)?;
        let score = geohash::score_of(xy[0], xy[1]).unwrap_or(0);
        let mut t = [0u8; 20];
        push(&mut buf, num::format_i64(score as i64, &mut t));
        push(&mut buf, a.get(longidx + i * 3 + 2));
    }
    let zargs = Args::new(&buf, &ranges);
    super::zsets::zadd(srv, c, &zargs)
}

fn geodist(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let mut to_meter = 1.0;
    if a.len() == 5 {
        to_meter = extract_unit(a.get(4))?;
    } else if a.len() > 5 {
        return Err(CmdError::Syntax);
    }
    let Some(z) = read::<ZSetValue>(&mut srv.dbs[c.db], a.get(1))? else {
        c.out.null();
        return Ok(());
    };
    let (Some(s1), Some(s2)) = (z.score(a.get(2)), z.score(a.get(3))) else {
        c.out.null();
        return Ok(());
    };
    match (geohash::decode_score(s1), geohash::decode_score(s2)) {
        (Some(p), Some(q)) => {
            reply_distance(c, geohash::distance(p[0], p[1], q[0], q[1]) / to_meter)
        }
        _ => c.out.null(),
    }
    Ok(())
}

fn geohash_cmd(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let z = read::<ZSetValue>(&mut srv.dbs[c.db], a.get(1))?;
    c.out.array(a.len() - 2);
    for j in 2..a.len() {
        match z
            .as_ref()
            .and_then(|z| z.score(a.get(j)))
            .and_then(geohash::geohash_string)
        {
            Some(s) => c.out.bulk(&s),
            None => c.out.null(),
        }
    }
    Ok(())
}

fn geopos(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let z = read::<ZSetValue>(&mut srv.dbs[c.db], a.get(1))?;
    c.out.array(a.len() - 2);
    for j in 2..a.len() {
        match z
            .as_ref()
            .and_then(|z| z.score(a.get(j)))
            .and_then(geohash::decode_score)
        {
            Some(xy) => {
                c.out.array(2);
                reply_coord(c, xy[0]);
                reply_coord(c, xy[1]);
            }
            None => c.out.null_array(),
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Searches
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// GEORADIUS[_RO] key lon lat radius unit
    RadiusCoords,
    /// GEORADIUSBYMEMBER[_RO] key member radius unit
    RadiusMember,
    /// GEOSEARCH key ...
    Search,
    /// GEOSEARCHSTORE dst src ...
    SearchStore,
}

/// A matching point (`geoPoint`).
struct GeoPoint {
    longitude: f64,
    latitude: f64,
    dist: f64,
    score: f64,
    member: Vec<u8>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sort {
    None,
    Asc,
    Desc,
}

/// `geoGetPointsInRange`: members with `min <= score < max` inside the
/// shape, stopping once `limit` (if non-zero) points were collected.
fn points_in_range(
    z: &ZSetValue,
    min: f64,
    max: f64,
    shape: &Shape,
    ga: &mut Vec<GeoPoint>,
    limit: usize,
) {
    let range = ZRangeSpec {
        min,
        max,
        minex: false,
        maxex: true,
    };
    let mut b = [0u8; 20];
    for (m, score) in z.iter_score(&range, false) {
        if !range.value_lte_max(score) {
            break;
        }
        if let Some((xy, dist)) = shape.contains_score(score) {
            ga.push(GeoPoint {
                longitude: xy[0],
                latitude: xy[1],
                dist,
                score,
                member: m.as_bytes(&mut b).to_vec(),
            });
        }
        if !ga.is_empty() && limit != 0 && ga.len() >= limit {
            break;
        }
    }
}

/// `membersOfAllNeighbors`: scans the centre box and its neighbours.
fn members_of_all_neighbors(
    z: &ZSetValue,
    area: &geohash::SearchArea,
    shape: &Shape,
    ga: &mut Vec<GeoPoint>,
    limit: usize,
) {
    let n = &area.neighbors;
    let boxes = [
        area.hash,
        n.north,
        n.south,
        n.east,
        n.west,
        n.north_east,
        n.north_west,
        n.south_east,
        n.south_west,
    ];
    let mut last_processed = 0;
    for (i, h) in boxes.iter().enumerate() {
        if h.is_zero() {
            continue;
        }
        // Huge radii can make adjacent neighbours identical: skip a box
        // equal to the one processed just before (never the centre's twin).
        if last_processed != 0 && *h == boxes[last_processed] {
            continue;
        }
        let min = geohash::align52(*h);
        let max = geohash::align52(geohash::HashBits {
            bits: h.bits.wrapping_add(1),
            step: h.step,
        });
        points_in_range(z, min as f64, max as f64, shape, ga, limit);
        last_processed = i;
        if !ga.is_empty() && limit != 0 && ga.len() >= limit {
            break;
        }
    }
}

/// `georadiusGeneric`.
fn georadius_generic(
    srv: &mut Server,
    c: &mut Client,
    a: &Args,
    src_idx: usize,
    kind: Kind,
    nostore: bool,
) -> CmdResult {
    let src = a.get(src_idx);
    let exists = read::<ZSetValue>(&mut srv.dbs[c.db], src)?.is_some();
    let mut storekey: Option<&[u8]> = None;
    let mut storedist = false;
    let mut xy = [0.0f64; 2];
    let mut conversion = 1.0;
    let mut shape_kind = ShapeKind::Circle { radius: 0.0 };
    let search = matches!(kind, Kind::Search | Kind::SearchStore);

    let member_xy = |srv: &Server, c: &Client, m: &[u8]| -> Result<[f64; 2], CmdError> {
        geo_peek(srv, c, src)
            .and_then(|z| z.score(m))
            .and_then(geohash::decode_score)
            .ok_or(CmdError::Static(error::GEO_DECODE_MEMBER))
    };

    let base_args = match kind {
        Kind::RadiusCoords => {
            xy = extract_lon_lat(a, 2)?;
            let (r, conv) = extract_distance(a, 4)?;
            shape_kind = ShapeKind::Circle { radius: r };
            conversion = conv;
            6
        }
        Kind::RadiusMember => {
            if exists {
                xy = member_xy(srv, c, a.get(2))?;
                let (r, conv) = extract_distance(a, 3)?;
                shape_kind = ShapeKind::Circle { radius: r };
                conversion = conv;
            }
            5
        }
        Kind::Search => 2,
        Kind::SearchStore => {
            storekey = Some(a.get(1));
            3
        }
    };

    let (mut withdist, mut withhash, mut withcoords) = (false, false, false);
    let (mut frommember, mut fromloc, mut byradius, mut bybox) = (false, false, false, false);
    let mut sort = Sort::None;
    let mut any = false;
    let mut count: i64 = 0;
    let remaining = a.len().saturating_sub(base_args);
    let mut i = 0;
    while i < remaining {
        let at = base_args + i;
        if a.is(at, "withdist") {
            withdist = true;
        } else if a.is(at, "withhash") {
            withhash = true;
        } else if a.is(at, "withcoord") {
            withcoords = true;
        } else if a.is(at, "any") {
            any = true;
        } else if a.is(at, "asc") {
            sort = Sort::Asc;
        } else if a.is(at, "desc") {
            sort = Sort::Desc;
        } else if a.is(at, "count") && i + 1 < remaining {
            count = a.i64(at + 1)?;
            if count <= 0 {
                return Err(CmdError::Static(error::GEO_COUNT_POSITIVE));
            }
            i += 1;
        } else if (a.is(at, "store") || a.is(at, "storedist"))
            && i + 1 < remaining
            && !nostore
            && !search
        {
            storekey = Some(a.get(at + 1));
            storedist = a.is(at, "storedist");
            i += 1;
        } else if a.is(at, "storedist") && kind == Kind::SearchStore {
            storedist = true;
        } else if a.is(at, "frommember") && i + 1 < remaining && search && !fromloc {
            if exists {
                xy = member_xy(srv, c, a.get(at + 1))?;
            }
            frommember = true;
            i += 1;
        } else if a.is(at, "fromlonlat") && i + 2 < remaining && search && !frommember {
            xy = extract_lon_lat(a, at + 1)?;
            fromloc = true;
            i += 2;
        } else if a.is(at, "byradius") && i + 2 < remaining && search && !bybox {
            let (r, conv) = extract_distance(a, at + 1)?;
            shape_kind = ShapeKind::Circle { radius: r };
            conversion = conv;
            byradius = true;
            i += 2;
        } else if a.is(at, "bybox") && i + 3 < remaining && search && !byradius {
            let (w, h, conv) = extract_box(a, at + 1)?;
            shape_kind = ShapeKind::Box {
                width: w,
                height: h,
            };
            conversion = conv;
            bybox = true;
            i += 3;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }

    if storekey.is_some() && (withdist || withhash || withcoords) {
        return Err(error::geo_store_with(kind == Kind::SearchStore));
    }
    if search && !(frommember || fromloc) {
        return Err(error::geo_need_from(a.get(0)));
    }
    if search && !(byradius || bybox) {
        return Err(error::geo_need_by(a.get(0)));
    }
    if any && count == 0 {
        return Err(CmdError::Static(error::GEO_ANY_NEEDS_COUNT));
    }

    if !exists {
        match storekey {
            Some(dst) => {
                if srv.dbs[c.db].delete(dst) {
                    let db = c.db;
                    srv.signal_modified_key(Some(&mut *c), db, dst);
                    notify::event(srv, c, notify::GENERIC, "del", dst);
                    srv.dirty += 1;
                }
                c.out.int(0);
            }
            None => c.out.empty_array(),
        }
        return Ok(());
    }

    if count != 0 && sort == Sort::None && !any {
        sort = Sort::Asc;
    }

    let shape = Shape {
        xy,
        conversion,
        kind: shape_kind,
    };
    let area = geohash::areas_by_shape(&shape);
    let mut ga: Vec<GeoPoint> = Vec::new();
    if let Some(z) = geo_peek(srv, c, src) {
        let limit = if any { count as usize } else { 0 };
        members_of_all_neighbors(z, &area, &shape, &mut ga, limit);
    }

    if ga.is_empty() && storekey.is_none() {
        c.out.empty_array();
        return Ok(());
    }

    let result_length = ga.len();
    let returned = if count == 0 || (result_length as i64) < count {
        result_length
    } else {
        count as usize
    };

    match sort {
        Sort::Asc => sort_points(&mut ga, returned, false),
        Sort::Desc => sort_points(&mut ga, returned, true),
        Sort::None => {}
    }
    ga.truncate(returned);

    match storekey {
        None => {
            let options = withdist as usize + withcoords as usize + withhash as usize;
            c.out.array(returned);
            for gp in &ga {
                let dist = gp.dist / shape.conversion;
                if options > 0 {
                    c.out.array(options + 1);
                }
                c.out.bulk(&gp.member);
                if withdist {
                    reply_distance(c, dist);
                }
                if withhash {
                    c.out.int(c_double_to_i64(gp.score));
                }
                if withcoords {
                    c.out.array(2);
                    reply_coord(c, gp.longitude);
                    reply_coord(c, gp.latitude);
                }
            }
        }
        Some(dst) => {
            if returned > 0 {
                let mut items: Vec<(Vec<u8>, f64)> = ga
                    .into_iter()
                    .map(|gp| {
                        let s = if storedist {
                            gp.dist / shape.conversion
                        } else {
                            gp.score
                        };
                        (gp.member, s)
                    })
                    .collect();
                items.sort_by(|x, y| x.1.total_cmp(&y.1).then_with(|| x.0.cmp(&y.0)));
                items.dedup_by(|x, y| x.0 == y.0);
                let z = ZSetValue::from_sorted(
                    &items,
                    srv.config.zset_max_listpack_entries,
                    srv.config.zset_max_listpack_value,
                );
                srv.dbs[c.db].set(dst, Value::zset(z), false);
                let db = c.db;
                srv.signal_modified_key(Some(&mut *c), db, dst);
                let ev = if search {
                    "geosearchstore"
                } else {
                    "georadiusstore"
                };
                notify::event(srv, c, notify::ZSET, ev, dst);
                blocking::signal_key_ready(srv, c.db, dst);
                srv.dirty += returned as u64;
            } else if srv.dbs[c.db].delete(dst) {
                let db = c.db;
                srv.signal_modified_key(Some(&mut *c), db, dst);
                notify::event(srv, c, notify::GENERIC, "del", dst);
                srv.dirty += 1;
            }
            c.out.int(returned as i64);
        }
    }
    Ok(())
}

/// Sorts by distance as Redis does: the whole array with glibc's (stable)
/// `qsort`, or only the first `returned` positions with `pqsort`.
fn sort_points(ga: &mut [GeoPoint], returned: usize, desc: bool) {
    let cmp = |x: &GeoPoint, y: &GeoPoint| {
        let o = if x.dist > y.dist {
            Ordering::Greater
        } else if x.dist == y.dist {
            Ordering::Equal
        } else {
            Ordering::Less
        };
        if desc {
            o.reverse()
        } else {
            o
        }
    };
    if returned == ga.len() {
        ga.sort_by(cmp);
    } else if returned > 0 {
        pqsort(ga, &cmp, 0, returned - 1);
    }
}

fn georadius(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    georadius_generic(srv, c, a, 1, Kind::RadiusCoords, false)
}

fn georadius_ro(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    georadius_generic(srv, c, a, 1, Kind::RadiusCoords, true)
}

fn georadiusbymember(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    georadius_generic(srv, c, a, 1, Kind::RadiusMember, false)
}

fn georadiusbymember_ro(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    georadius_generic(srv, c, a, 1, Kind::RadiusMember, true)
}

fn geosearch(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    georadius_generic(srv, c, a, 1, Kind::Search, true)
}

fn geosearchstore(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    georadius_generic(srv, c, a, 2, Kind::SearchStore, true)
}

// ---------------------------------------------------------------------------
// pqsort
// ---------------------------------------------------------------------------

/// Redis 7.0's `pqsort` (pqsort.c: NetBSD's Bentley-McIlroy quicksort,
/// without the insertion-sort shortcut, that only recurses into partitions
/// overlapping `[lrange, rrange]`), step for step, so ties end up in the
/// same order as in Redis.
fn pqsort<T, F: Fn(&T, &T) -> Ordering>(v: &mut [T], cmp: &F, lrange: usize, rrange: usize) {
    let n = v.len();
    pqsort_rec(v, 0, n, cmp, lrange, rrange);
}

fn med3<T, F: Fn(&T, &T) -> Ordering>(v: &[T], a: usize, b: usize, c: usize, cmp: &F) -> usize {
    if cmp(&v[a], &v[b]) == Ordering::Less {
        if cmp(&v[b], &v[c]) == Ordering::Less {
            b
        } else if cmp(&v[a], &v[c]) == Ordering::Less {
            c
        } else {
            a
        }
    } else if cmp(&v[b], &v[c]) == Ordering::Greater {
        b
    } else if cmp(&v[a], &v[c]) == Ordering::Less {
        a
    } else {
        c
    }
}

fn insertion_sort<T, F: Fn(&T, &T) -> Ordering>(v: &mut [T], a: usize, n: usize, cmp: &F) {
    for pm in a + 1..a + n {
        let mut pl = pm;
        while pl > a && cmp(&v[pl - 1], &v[pl]) == Ordering::Greater {
            v.swap(pl, pl - 1);
            pl -= 1;
        }
    }
}

/// True when the partition `[s, s + cnt)` lies entirely outside the range.
fn outside(l: usize, r: usize, s: usize, cnt: usize) -> bool {
    (l < s && r < s) || (l >= s + cnt && r >= s + cnt)
}

fn pqsort_rec<T, F: Fn(&T, &T) -> Ordering>(
    v: &mut [T],
    mut a: usize,
    mut n: usize,
    cmp: &F,
    l: usize,
    r: usize,
) {
    loop {
        if n < 7 {
            insertion_sort(v, a, n, cmp);
            return;
        }
        let mut pm = a + n / 2;
        if n > 7 {
            let mut pl = a;
            let mut pn = a + n - 1;
            if n > 40 {
                let d = n / 8;
                pl = med3(v, pl, pl + d, pl + 2 * d, cmp);
                pm = med3(v, pm - d, pm, pm + d, cmp);
                pn = med3(v, pn - 2 * d, pn - d, pn, cmp);
            }
            pm = med3(v, pl, pm, pn, cmp);
        }
        v.swap(a, pm);
        let (mut pa, mut pb) = (a + 1, a + 1);
        let (mut pc, mut pd) = (a + n - 1, a + n - 1);
        loop {
            while pb <= pc {
                let c = cmp(&v[pb], &v[a]);
                if c == Ordering::Greater {
                    break;
                }
                if c == Ordering::Equal {
                    v.swap(pa, pb);
                    pa += 1;
                }
                pb += 1;
            }
            while pb <= pc {
                let c = cmp(&v[pc], &v[a]);
                if c == Ordering::Less {
                    break;
                }
                if c == Ordering::Equal {
                    v.swap(pc, pd);
                    pd -= 1;
                }
                pc -= 1;
            }
            if pb > pc {
                break;
            }
            v.swap(pb, pc);
            pb += 1;
            pc -= 1;
        }
        let pn = a + n;
        let k = (pa - a).min(pb - pa);
        for i in 0..k {
            v.swap(a + i, pb - k + i);
        }
        let k = (pd - pc).min(pn - pd - 1);
        for i in 0..k {
            v.swap(pb + i, pn - k + i);
        }
        let k = pb - pa;
        if k > 1 && !outside(l, r, a, k) {
            pqsort_rec(v, a, k, cmp, l, r);
        }
        let k = pd - pc;
        if k > 1 {
            a = pn - k;
            n = k;
            if !outside(l, r, a, n) {
                continue;
            }
        }
        return;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pqsort_sorts_prefix() {
        let mut seed = 12345u64;
        for n in [0usize, 1, 5, 7, 8, 41, 100, 300] {
            let mut v: Vec<u32> = (0..n)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (seed >> 40) as u32 % 50
                })
                .collect();
            let mut sorted = v.clone();
            sorted.sort();
            if n == 0 {
                continue;
            }
            let k = n / 3;
            pqsort(&mut v, &|a: &u32, b: &u32| a.cmp(b), 0, k);
            assert_eq!(&v[..=k], &sorted[..=k]);
            let mut full = v.clone();
            pqsort(&mut full, &|a: &u32, b: &u32| a.cmp(b), 0, n - 1);
            assert_eq!(full, sorted);
        }
    }
}
