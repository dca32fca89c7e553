//! Geohash arithmetic as Redis 7.0 does it (geohash.c, geohash_helper.c):
//! 52-bit interleaved hashes over Redis's Web-Mercator-limited latitude
//! range, neighbour boxes, the search-area computation for a radius or a
//! box, and haversine distances on Redis's earth radius.
//!
//! Every floating point step is written in the same order as the C code
//! (and `sin`/`cos`/`asin` come from the same libm), so scores, decoded
//! coordinates and distances are bit-identical with Redis.

/// `GEO_STEP_MAX`: 26 steps per axis, 52 bits in all.
pub const GEO_STEP_MAX: u8 = 26;
pub const GEO_LAT_MIN: f64 = -85.05112878;
pub const GEO_LAT_MAX: f64 = 85.05112878;
pub const GEO_LONG_MIN: f64 = -180.0;
pub const GEO_LONG_MAX: f64 = 180.0;
/// `EARTH_RADIUS_IN_METERS`.
pub const EARTH_RADIUS_IN_METERS: f64 = 6372797.560856;
const MERCATOR_MAX: f64 = 20037726.37;
/// `D_R`: degrees to radians.
const D_R: f64 = std::f64::consts::PI / 180.0;

/// A `[min, max]` coordinate range (`GeoHashRange`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Range {
    pub min: f64,
    pub max: f64,
}

/// A hash of `step` bits per axis (`GeoHashBits`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HashBits {
    pub bits: u64,
    pub step: u8,
}

impl HashBits {
    /// `HASHISZERO`.
    pub fn is_zero(&self) -> bool {
        self.bits == 0 && self.step == 0
    }
}

/// The box a hash stands for (`GeoHashArea`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Area {
    pub hash: HashBits,
    pub longitude: Range,
    pub latitude: Range,
}

/// The eight neighbours of a hash (`GeoHashNeighbors`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Neighbors {
    pub north: HashBits,
    pub east: HashBits,
    pub west: HashBits,
    pub south: HashBits,
    pub north_east: HashBits,
    pub south_east: HashBits,
    pub north_west: HashBits,
    pub south_west: HashBits,
}

/// The boxes to scan for a search (`GeoHashRadius`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SearchArea {
    pub hash: HashBits,
    pub area: Area,
    pub neighbors: Neighbors,
}

/// A search shape (`GeoShape`): centre, unit conversion and radius or box.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shape {
    /// `[longitude, latitude]` of the centre.
    pub xy: [f64; 2],
    /// Metres per unit.
    pub conversion: f64,
    pub kind: ShapeKind,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ShapeKind {
    /// Radius in the shape's unit.
    Circle { radius: f64 },
    /// Width and height in the shape's unit.
    Box { width: f64, height: f64 },
}

/// Redis's coordinate ranges (`geohashGetCoordRange`).
pub fn coord_range() -> (Range, Range) {
    (
        Range {
            min: GEO_LONG_MIN,
            max: GEO_LONG_MAX,
        },
        Range {
            min: GEO_LAT_MIN,
            max: GEO_LAT_MAX,
        },
    )
}

/// `interleave64`: bits of `x` to the even positions, `y` to the odd ones.
fn interleave64(xlo: u32, ylo: u32) -> u64 {
    const B: [u64; 5] = [
        0x5555555555555555,
        0x3333333333333333,
        0x0F0F0F0F0F0F0F0F,
        0x00FF00FF00FF00FF,
        0x0000FFFF0000FFFF,
    ];
    const S: [u32; 5] = [1, 2, 4, 8, 16];
    let mut x = xlo as u64;
    let mut y = ylo as u64;
    for i in (0..5).rev() {
        x = (x | (x << S[i])) & B[i];
        y = (y | (y << S[i])) & B[i];
    }
    x | (y << 1)
}

/// `deinterleave64`: even bits to the low word, odd bits to the high word.
fn deinterleave64(interleaved: u64) -> u64 {
    const B: [u64; 6] = [
        0x5555555555555555,
        0x3333333333333333,
        0x0F0F0F0F0F0F0F0F,
        0x00FF00FF00FF00FF,
        0x0000FFFF0000FFFF,
        0x00000000FFFFFFFF,
    ];
    const S: [u32; 6] = [0, 1, 2, 4, 8, 16];
    let mut x = interleaved;
    let mut y = interleaved >> 1;
    for i in 0..6 {
        x = (x | (x >> S[i])) & B[i];
        y = (y | (y >> S[i])) & B[i];
    }
    x | (y << 32)
}

/// C's `(uint32_t)` of a non-negative double below 2^32 (truncation).
#[inline]
fn to_u32(v: f64) -> u32 {
    (v as i64) as u32
}

/// `geohashEncode`: `None` for bad arguments or out-of-range coordinates.
pub fn encode(
    long_range: &Range,
    lat_range: &Range,
    longitude: f64,
    latitude: f64,
    step: u8,
) -> Option<HashBits> {
    if step > 32
        || step == 0
        || (lat_range.min == 0.0 && lat_range.max == 0.0)
        || (long_range.min == 0.0 && long_range.max == 0.0)
    {
        return None;
    }
    if !(GEO_LONG_MIN..=GEO_LONG_MAX).contains(&longitude)
        || !(GEO_LAT_MIN..=GEO_LAT_MAX).contains(&latitude)
    {
        return None;
    }
    if latitude < lat_range.min
        || latitude > lat_range.max
        || longitude < long_range.min
        || longitude > long_range.max
    {
        return None;
    }
    let mut lat_offset = (latitude - lat_range.min) / (lat_range.max - lat_range.min);
    let mut long_offset = (longitude - long_range.min) / (long_range.max - long_range.min);
    let scale = (1u64 << step) as f64;
    lat_offset *= scale;
    long_offset *= scale;
    Some(HashBits {
        bits: interleave64(to_u32(lat_offset), to_u32(long_offset)),
        step,
    })
}

/// `geohashEncodeWGS84`.
pub fn encode_wgs84(longitude: f64, latitude: f64, step: u8) -> Option<HashBits> {
    let (lo, la) = coord_range();
    encode(&lo, &la, longitude, latitude, step)
}

/// `geohashDecode`.
pub fn decode(long_range: Range, lat_range: Range, hash: HashBits) -> Option<Area> {
    if hash.is_zero()
        || (lat_range.min == 0.0 && lat_range.max == 0.0)
        || (long_range.min == 0.0 && long_range.max == 0.0)
    {
        return None;
    }
    let step = hash.step;
    let hash_sep = deinterleave64(hash.bits);
    let lat_scale = lat_range.max - lat_range.min;
    let long_scale = long_range.max - long_range.min;
    let ilato = hash_sep as u32;
    let ilono = (hash_sep >> 32) as u32;
    let div = (1u64 << step) as f64;
    Some(Area {
        hash,
        latitude: Range {
            min: lat_range.min + (ilato as f64 * 1.0 / div) * lat_scale,
            max: lat_range.min + (ilato.wrapping_add(1) as f64 * 1.0 / div) * lat_scale,
        },
        longitude: Range {
            min: long_range.min + (ilono as f64 * 1.0 / div) * long_scale,
            max: long_range.min + (ilono.wrapping_add(1) as f64 * 1.0 / div) * long_scale,
        },
    })
}

/// `geohashDecodeAreaToLongLat`: the box centre, clamped to the limits.
pub fn area_center(area: &Area) -> [f64; 2] {
    let mut x = (area.longitude.min + area.longitude.max) / 2.0;
    x = x.clamp(GEO_LONG_MIN, GEO_LONG_MAX);
    let mut y = (area.latitude.min + area.latitude.max) / 2.0;
    y = y.clamp(GEO_LAT_MIN, GEO_LAT_MAX);
    [x, y]
}

/// C's `(uint64_t)` of a double as x86-64 code does it (`cvttsd2si`
/// with the 2^63 adjustment; out-of-range values become 2^63 / 0).
fn c_double_to_u64(d: f64) -> u64 {
    const TWO63: f64 = 9223372036854775808.0;
    let cvt = |v: f64| -> u64 {
        if v.is_nan() || !(-TWO63..TWO63).contains(&v) {
            1u64 << 63
        } else {
            (v as i64) as u64
        }
    };
    if d < TWO63 {
        cvt(d)
    } else {
        cvt(d - TWO63) ^ (1u64 << 63)
    }
}

/// `decodeGeohash` (geo.c): a zset score to `[longitude, latitude]`.
pub fn decode_score(score: f64) -> Option<[f64; 2]> {
    let hash = HashBits {
        bits: c_double_to_u64(score),
        step: GEO_STEP_MAX,
    };
    let (lo, la) = coord_range();
    decode(lo, la, hash).map(|a| area_center(&a))
}

/// The score GEOADD stores for a point (`geohashAlign52Bits` of the
/// full-precision hash), `None` when outside the limits.
pub fn score_of(longitude: f64, latitude: f64) -> Option<u64> {
    encode_wgs84(longitude, latitude, GEO_STEP_MAX).map(align52)
}

/// `geohashAlign52Bits`.
pub fn align52(hash: HashBits) -> u64 {
    hash.bits << (52 - hash.step as u32 * 2)
}

/// The 11-character base32 geohash string GEOHASH replies (re-encoded
/// with the standard -90..90 latitude range).
pub fn geohash_string(score: f64) -> Option<[u8; 11]> {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let xy = decode_score(score)?;
    let lo = Range {
        min: -180.0,
        max: 180.0,
    };
    let la = Range {
        min: -90.0,
        max: 90.0,
    };
    // geohashEncode leaves bits at 0 when it refuses (cannot happen for
    // decoded points, which are inside the limits).
    let bits = encode(&lo, &la, xy[0], xy[1], 26).map_or(0, |h| h.bits);
    let mut buf = [b'0'; 11];
    for (i, b) in buf.iter_mut().enumerate().take(10) {
        let idx = (bits >> (52 - (i + 1) * 5)) & 0x1f;
        *b = ALPHABET[idx as usize];
    }
    Some(buf)
}

fn move_x(hash: &mut HashBits, d: i8) {
    if d == 0 {
        return;
    }
    let mut x = hash.bits & 0xaaaaaaaaaaaaaaaa;
    let y = hash.bits & 0x5555555555555555;
    let shift = 64 - hash.step as u32 * 2;
    let zz = 0x5555555555555555u64.checked_shr(shift).unwrap_or(0);
    if d > 0 {
        x = x.wrapping_add(zz.wrapping_add(1));
    } else {
        x |= zz;
        x = x.wrapping_sub(zz.wrapping_add(1));
    }
    x &= 0xaaaaaaaaaaaaaaaau64.checked_shr(shift).unwrap_or(0);
    hash.bits = x | y;
}

fn move_y(hash: &mut HashBits, d: i8) {
    if d == 0 {
        return;
    }
    let x = hash.bits & 0xaaaaaaaaaaaaaaaa;
    let mut y = hash.bits & 0x5555555555555555;
    let shift = 64 - hash.step as u32 * 2;
    let zz = 0xaaaaaaaaaaaaaaaau64.checked_shr(shift).unwrap_or(0);
    if d > 0 {
        y = y.wrapping_add(zz.wrapping_add(1));
    } else {
        y |= zz;
        y = y.wrapping_sub(zz.wrapping_add(1));
    }
    y &= 0x5555555555555555u64.checked_shr(shift).unwrap_or(0);
    hash.bits = x | y;
}

/// `geohashNeighbors`.
pub fn neighbors(hash: &HashBits) -> Neighbors {
    let mv = |dx: i8, dy: i8| {
        let mut h = *hash;
        move_x(&mut h, dx);
        move_y(&mut h, dy);
        h
    };
    Neighbors {
        east: mv(1, 0),
        west: mv(-1, 0),
        south: mv(0, -1),
        north: mv(0, 1),
        north_west: mv(-1, 1),
        south_west: mv(-1, -1),
        north_east: mv(1, 1),
        south_east: mv(1, -1),
    }
}

fn deg_rad(ang: f64) -> f64 {
    ang * D_R
}

fn rad_deg(ang: f64) -> f64 {
    ang / D_R
}

/// `geohashEstimateStepsByRadius`.
pub fn estimate_steps_by_radius(mut range_meters: f64, lat: f64) -> u8 {
    if range_meters == 0.0 {
        return 26;
    }
    let mut step: i32 = 1;
    while range_meters < MERCATOR_MAX {
        range_meters *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u8
}

/// `geohashBoundingBox`: `[min_lon, min_lat, max_lon, max_lat]`.
pub fn bounding_box(shape: &Shape) -> [f64; 4] {
    let longitude = shape.xy[0];
    let latitude = shape.xy[1];
    let (height, width) = match shape.kind {
        ShapeKind::Circle { radius } => (shape.conversion * radius, shape.conversion * radius),
        ShapeKind::Box { width, height } => (
            shape.conversion * (height / 2.0),
            shape.conversion * (width / 2.0),
        ),
    };
    let lat_delta = rad_deg(height / EARTH_RADIUS_IN_METERS);
    let southern = latitude < 0.0;
    let long_delta = if southern {
        rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(latitude - lat_delta).cos())
    } else {
        rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(latitude + lat_delta).cos())
    };
    [
        longitude - long_delta,
        latitude - lat_delta,
        longitude + long_delta,
        latitude + lat_delta,
    ]
}

/// `geohashCalculateAreasByShapeWGS84`: the centre box and the neighbours
/// worth scanning (useless ones zeroed).
pub fn areas_by_shape(shape: &Shape) -> SearchArea {
    let b = bounding_box(shape);
    let (min_lon, min_lat, max_lon, max_lat) = (b[0], b[1], b[2], b[3]);
    let longitude = shape.xy[0];
    let latitude = shape.xy[1];
    let mut radius_meters = match shape.kind {
        ShapeKind::Circle { radius } => radius,
        ShapeKind::Box { width, height } => {
            ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt()
        }
    };
    radius_meters *= shape.conversion;

    let mut steps = estimate_steps_by_radius(radius_meters, latitude);
    let (long_range, lat_range) = coord_range();
    let enc = |steps: u8| encode(&long_range, &lat_range, longitude, latitude, steps);
    let mut hash = enc(steps).unwrap_or(HashBits {
        bits: 0,
        step: steps,
    });
    let mut nb = neighbors(&hash);
    let mut area = decode(long_range, lat_range, hash).unwrap_or_default();

    let dec = |h: HashBits| decode(long_range, lat_range, h).unwrap_or_default();
    let north = dec(nb.north);
    let south = dec(nb.south);
    let east = dec(nb.east);
    let west = dec(nb.west);
    let decrease_step = north.latitude.max < max_lat
        || south.latitude.min > min_lat
        || east.longitude.max < max_lon
        || west.longitude.min > min_lon;

    if steps > 1 && decrease_step {
        steps -= 1;
        hash = enc(steps).unwrap_or(HashBits {
            bits: 0,
            step: steps,
        });
        nb = neighbors(&hash);
        area = decode(long_range, lat_range, hash).unwrap_or_default();
    }

    if steps >= 2 {
        let zero = HashBits::default();
        if area.latitude.min < min_lat {
            nb.south = zero;
            nb.south_west = zero;
            nb.south_east = zero;
        }
        if area.latitude.max > max_lat {
            nb.north = zero;
            nb.north_east = zero;
            nb.north_west = zero;
        }
        if area.longitude.min < min_lon {
            nb.west = zero;
            nb.south_west = zero;
            nb.north_west = zero;
        }
        if area.longitude.max > max_lon {
            nb.east = zero;
            nb.south_east = zero;
            nb.north_east = zero;
        }
    }
    SearchArea {
        hash,
        area,
        neighbors: nb,
    }
}

/// `geohashGetLatDistance`.
pub fn lat_distance(lat1d: f64, lat2d: f64) -> f64 {
    EARTH_RADIUS_IN_METERS * (deg_rad(lat2d) - deg_rad(lat1d)).abs()
}

/// `geohashGetDistance`: haversine distance in metres.
pub fn distance(lon1d: f64, lat1d: f64, lon2d: f64, lat2d: f64) -> f64 {
    let lon1r = deg_rad(lon1d);
    let lon2r = deg_rad(lon2d);
    let v = ((lon2r - lon1r) / 2.0).sin();
    if v == 0.0 {
        return lat_distance(lat1d, lat2d);
    }
    let lat1r = deg_rad(lat1d);
    let lat2r = deg_rad(lat2d);
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS_IN_METERS * a.sqrt().asin()
}

/// `geohashGetDistanceIfInRectangle`: the distance from the centre
/// `(x1, y1)` when `(x2, y2)` is inside the `width_m` x `height_m` box.
pub fn distance_if_in_rectangle(
    width_m: f64,
    height_m: f64,
    x1: f64,
    y1: f64,
    x2: f64,
    y2: f64,
) -> Option<f64> {
    if lat_distance(y2, y1) > height_m / 2.0 {
        return None;
    }
    if distance(x2, y2, x1, y2) > width_m / 2.0 {
        return None;
    }
    Some(distance(x1, y1, x2, y2))
}

impl Shape {
    /// `geoWithinShape`: decodes `score` and returns the point and its
    /// distance (metres) from the centre when inside the shape.
    pub fn contains_score(&self, score: f64) -> Option<([f64; 2], f64)> {
        let xy = decode_score(score)?;
        let d = match self.kind {
            ShapeKind::Circle { radius } => {
                let d = distance(self.xy[0], self.xy[1], xy[0], xy[1]);
                if d > radius * self.conversion {
                    return None;
                }
                d
            }
            ShapeKind::Box { width, height } => distance_if_in_rectangle(
                width * self.conversion,
                height * self.conversion,
                self.xy[0],
                self.xy[1],
                xy[0],
                xy[1],
            )?,
        };
        Some((xy, d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn palermo_score_and_hash() {
        // Values from a real Redis 7.0 server.
        let s = score_of(13.361389, 38.115556).unwrap();
        assert_eq!(s, 3479099956230698);
        assert_eq!(&geohash_string(s as f64).unwrap(), b"sqc8b49rny0");
        let xy = decode_score(s as f64).unwrap();
        assert!((xy[0] - 13.361389).abs() < 1e-5 && (xy[1] - 38.115556).abs() < 1e-5);
    }

    #[test]
    fn interleave_roundtrip() {
        for &(a, b) in &[(0u32, 0u32), (1, 2), (0x3ffffff, 0x1234567), (u32::MAX, 7)] {
            let d = deinterleave64(interleave64(a, b));
            assert_eq!((d as u32, (d >> 32) as u32), (a, b));
        }
    }

    #[test]
    fn limits() {
        assert!(score_of(181.0, 0.0).is_none());
        assert!(score_of(0.0, 86.0).is_none());
        assert!(score_of(180.0, GEO_LAT_MAX).is_some());
        assert!(decode_score(-1.0).is_some());
        assert!(decode_score(f64::INFINITY).is_some());
    }

    #[test]
    fn neighbors_step1() {
        let h = encode_wgs84(10.0, 10.0, 1).unwrap();
        let n = neighbors(&h);
        assert_ne!(n.east, h);
        assert_eq!(n.east.step, 1);
    }

    #[test]
    fn steps() {
        assert_eq!(estimate_steps_by_radius(0.0, 0.0), 26);
        assert_eq!(estimate_steps_by_radius(1e9, 0.0), 1);
        assert!(estimate_steps_by_radius(100.0, 0.0) > estimate_steps_by_radius(100.0, 85.0));
    }
}
