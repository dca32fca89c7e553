//! Our own data structures, as Redis has them (dict.c, sds.c, bitops.c,
//! hyperloglog.c, intset.c, t_zset.c's zskiplist and skiplist-encoded zset):
//! each in its own module with property tests.
pub mod bitops;
pub mod dict;
pub mod hyperloglog;
pub mod intset;
pub mod sds;
pub mod skiplist;
pub mod zset;
