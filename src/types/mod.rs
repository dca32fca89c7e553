//! Collection types as Redis's t_list.c / t_hash.c / t_set.c / t_zset.c /
//! t_stream.c type APIs: each owns its encodings (listpack, quicklist,
//! intset, hashtable, skiplist, stream listpack nodes) and the conversions
//! between them at Redis 7.0's thresholds (passed in by the caller). Command handlers in `commands/` use only these APIs.
pub mod hash;
pub mod list;
pub mod set;
pub mod stream;
pub mod stream_groups;
pub mod zset;
