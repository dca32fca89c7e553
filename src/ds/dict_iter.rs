//! The dict's iterators (`Dict::iter`, `iter_mut`, `drain` and
//! `IntoIterator`): they walk both tables' buckets and each bucket's chain.
//! A child module of `dict`, so it sees the tables and entries.

use super::*;

pub(super) type BucketIter<'a, V> =
    std::iter::Chain<std::slice::Iter<'a, Link<V>>, std::slice::Iter<'a, Link<V>>>;
pub(super) type BucketIterMut<'a, V> =
    std::iter::Chain<std::slice::IterMut<'a, Link<V>>, std::slice::IterMut<'a, Link<V>>>;

/// Iterator over `(&[u8], &V)`; see [`Dict::iter`].
pub struct Iter<'a, V> {
    pub(super) buckets: BucketIter<'a, V>,
    pub(super) cur: Option<&'a Entry<V>>,
    pub(super) remaining: usize,
}

impl<'a, V> Iter<'a, V> {
    /// The next whole entry.
    pub(super) fn next_entry(&mut self) -> Option<&'a Entry<V>> {
        loop {
            if let Some(e) = self.cur {
                self.cur = e.next().as_ref();
                self.remaining = self.remaining.saturating_sub(1);
                return Some(e);
            }
            if self.remaining == 0 {
                return None;
            }
            self.cur = self.buckets.next()?.as_ref();
        }
    }
}

impl<'a, V> Iterator for Iter<'a, V> {
    type Item = (&'a [u8], &'a V);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        self.next_entry().map(|e| (e.key(), e.val()))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<V> ExactSizeIterator for Iter<'_, V> {}

/// Iterator over `(&[u8], &mut V)`; see [`Dict::iter_mut`].
pub struct IterMut<'a, V> {
    pub(super) buckets: BucketIterMut<'a, V>,
    pub(super) cur: Option<&'a mut Entry<V>>,
    pub(super) remaining: usize,
}

impl<'a, V> Iterator for IterMut<'a, V> {
    type Item = (&'a [u8], &'a mut V);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(e) = self.cur.take() {
                let (next, key, val) = e.parts_mut();
                self.cur = next.as_mut();
                self.remaining = self.remaining.saturating_sub(1);
                return Some((key, val));
            }
            if self.remaining == 0 {
                return None;
            }
            self.cur = self.buckets.next()?.as_mut();
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<V> ExactSizeIterator for IterMut<'_, V> {}

/// Owning iterator; see [`Dict::drain`] / `into_iter`.
pub struct IntoIter<K, V> {
    pub(super) _key: std::marker::PhantomData<fn() -> K>,
    pub(super) tables: [Table<V>; 2],
    pub(super) table: usize,
    pub(super) bucket: usize,
    pub(super) cur: Link<V>,
    pub(super) remaining: usize,
}

impl<K: for<'k> From<&'k [u8]>, V> Iterator for IntoIter<K, V> {
    type Item = (K, V);

    fn next(&mut self) -> Option<(K, V)> {
        loop {
            if let Some(mut e) = self.cur.take() {
                self.cur = e.next_mut().take();
                self.remaining = self.remaining.saturating_sub(1);
                return Some(e.into_val_with(|k| K::from(k)));
            }
            if self.remaining == 0 {
                return None;
            }
            let t = self.tables.get_mut(self.table)?;
            match t.buckets.get_mut(self.bucket) {
                Some(b) => {
                    self.cur = b.take();
                    self.bucket += 1;
                }
                None => {
                    self.table += 1;
                    self.bucket = 0;
                }
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<K: for<'k> From<&'k [u8]>, V> ExactSizeIterator for IntoIter<K, V> {}

impl<K, V> Drop for IntoIter<K, V> {
    fn drop(&mut self) {
        // The tables drop themselves iteratively; only the detached chain
        // needs care.
        drop_chain(self.cur.take());
    }
}

impl<K: for<'k> From<&'k [u8]>, V> IntoIterator for Dict<K, V> {
    type Item = (K, V);
    type IntoIter = IntoIter<K, V>;

    fn into_iter(self) -> IntoIter<K, V> {
        let remaining = self.len();
        let Dict { ht, .. } = self;
        IntoIter {
            _key: std::marker::PhantomData,
            tables: ht,
            table: 0,
            bucket: 0,
            cur: None,
            remaining,
        }
    }
}

impl<'a, K: for<'k> From<&'k [u8]>, V> IntoIterator for &'a Dict<K, V> {
    type Item = (&'a [u8], &'a V);
    type IntoIter = Iter<'a, V>;

    fn into_iter(self) -> Iter<'a, V> {
        self.iter()
    }
}

impl<'a, K: for<'k> From<&'k [u8]>, V> IntoIterator for &'a mut Dict<K, V> {
    type Item = (&'a [u8], &'a mut V);
    type IntoIter = IterMut<'a, V>;

    fn into_iter(self) -> IterMut<'a, V> {
        self.iter_mut()
    }
}
