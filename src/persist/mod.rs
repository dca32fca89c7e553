//! Persistence: RDB snapshots (`rdb`), the multi-part append-only file
//! (`aof`) and the forked background child that writes snapshots while the
//! parent keeps serving (`child`) — Redis's rdb.c, aof.c and childinfo.c.

pub mod aof;
pub mod aof_load;
pub mod aof_manifest;
pub mod aof_rewrite;
pub mod child;
pub mod childinfo;
pub mod crc64;
pub mod lzf;
pub mod rdb;
pub mod rdb_legacy;
pub mod rdb_load;
pub mod rdb_server;
#[cfg(test)]
mod rdb_tests;
pub mod snapshot;
