//! "The value at this key must be of type T": the one getter the handlers
//! of the collection types use (Redis's lookupKeyRead/lookupKeyWrite
//! followed by checkType), answering WRONGTYPE for a key of another type.

use crate::db::Db;
use crate::error::CmdError;
use crate::object::Value;
use crate::types::hash::HashValue;
use crate::types::list::ListValue;
use crate::types::set::SetValue;
use crate::types::stream::StreamValue;
use crate::types::zset::ZSetValue;

/// A value type a key can hold.
pub trait Typed {
    /// The value as this type, if it is one.
    fn of(v: &mut Value) -> Option<&mut Self>;
}

macro_rules! typed {
    ($t:ty, $getter:ident) => {
        impl Typed for $t {
            #[inline]
            fn of(v: &mut Value) -> Option<&mut Self> {
                v.$getter()
            }
        }
    };
}

typed!(ListValue, as_list_mut);
typed!(HashValue, as_hash_mut);
typed!(SetValue, as_set_mut);
typed!(ZSetValue, as_zset_mut);
typed!(StreamValue, as_stream_mut);

/// The `T` at `key` for reading (lazy expiry, hit/miss accounting):
/// Ok(None) when missing, WRONGTYPE when it holds another type.
#[inline]
pub fn read<'a, T: Typed>(db: &'a mut Db, key: &[u8]) -> Result<Option<&'a mut T>, CmdError> {
    match db.lookup_read(key) {
        None => Ok(None),
        Some(o) => T::of(&mut o.value).map(Some).ok_or(CmdError::WrongType),
    }
}

/// The `T` at `key` for writing: Ok(None) when missing, WRONGTYPE when it
/// holds another type.
#[inline]
pub fn write<'a, T: Typed>(db: &'a mut Db, key: &[u8]) -> Result<Option<&'a mut T>, CmdError> {
    match db.lookup_write(key) {
        None => Ok(None),
        Some(o) => T::of(&mut o.value).map(Some).ok_or(CmdError::WrongType),
    }
}
