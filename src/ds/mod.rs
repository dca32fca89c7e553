//! Our own data structures, as Redis has them (dict.c, sds.c, listpack.c,
//! quicklist.c, intset.c, the zskiplist of t_zset.c, bitops.c,
//! hyperloglog.c): each in its own module with property tests.
pub mod bitops;
pub mod dict;
mod dict_entry;
pub mod geohash;
pub mod hdr;
pub mod hyperloglog;
pub mod intset;
pub mod listpack;
pub mod quicklist;
pub mod sds;
pub mod skiplist;
pub mod zset;
