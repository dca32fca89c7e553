//! The dict's iterators (`Dict::iter`, `iter_mut`, `drain` and
//! `IntoIterator`): they walk both tables' buckets and each bucket's chain.
//! A child module of `dict`, so it sees the tables and entries.

use super::*;

pub(super) type BucketIter<'a, V, const M: bool> =
    std::iter::Chain<std::slice::Iter<'a, Link<V, M>>, std::slice::Iter<'a, Link<V, M>>>;
pub(super) type BucketIterMut<'a, V, const M: bool> =
    std::iter::Chain<std::slice::IterMut<'a, Link<V, M>>, std::slice::IterMut<'a, Link<V, M>>>;

/// Iterator over `(&[u8], &V)`; see [`Dict::iter`].
pub struct Iter<'a, V, const M: bool = false> {
    pub(super) buckets: BucketIter<'a, V, M>,
    pub(super) cur: Option<&'a Entry<V, M>>,
    pub(super) remaining: usize,
}

impl<'a, V, const M: bool> Iter<'a, V, M> {
    /// The next whole entry.
    pub(super) fn next_entry(&mut self) -> Option<&'a Entry<V, M>> {
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

impl<'a, V, const M: bool> Iterator for Iter<'a, V, M> {
    type Item = (&'a [u8], &'a V);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        self.next_entry().map(|e| (e.key(), e.val()))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<V, const M: bool> ExactSizeIterator for Iter<'_, V, M> {}

/// Iterator over `(&[u8], &mut V)`; see [`Dict::iter_mut`].
pub struct IterMut<'a, V, const M: bool = false> {
    pub(super) buckets: BucketIterMut<'a, V, M>,
    pub(super) cur: Option<&'a mut Entry<V, M>>,
    pub(super) remaining: usize,
}

impl<'a, V, const M: bool> Iterator for IterMut<'a, V, M> {
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

impl<V, const M: bool> ExactSizeIterator for IterMut<'_, V, M> {}

/// Owning iterator; see [`Dict::drain`] / `into_iter`.
pub struct IntoIter<K, V, const M: bool = false> {
    pub(super) _key: std::marker::PhantomData<fn() -> K>,
    pub(super) tables: [Table<V, M>; 2],
    pub(super) table: usize,
    pub(super) bucket: usize,
    pub(super) cur: Link<V, M>,
    pub(super) remaining: usize,
}

impl<K: for<'k> From<&'k [u8]>, V, const M: bool> Iterator for IntoIter<K, V, M> {
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

impl<K: for<'k> From<&'k [u8]>, V, const M: bool> ExactSizeIterator for IntoIter<K, V, M> {}

impl<K, V, const M: bool> Drop for IntoIter<K, V, M> {
    fn drop(&mut self) {
        // The tables drop themselves iteratively; only the detached chain
        // needs care.
        drop_chain(self.cur.take());
    }
}

impl<K: for<'k> From<&'k [u8]>, V, const M: bool> IntoIterator for Dict<K, V, M> {
    type Item = (K, V);
    type IntoIter = IntoIter<K, V, M>;

    fn into_iter(self) -> IntoIter<K, V, M> {
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

impl<'a, K: for<'k> From<&'k [u8]>, V, const M: bool> IntoIterator for &'a Dict<K, V, M> {
    type Item = (&'a [u8], &'a V);
    type IntoIter = Iter<'a, V, M>;

    fn into_iter(self) -> Iter<'a, V, M> {
        self.iter()
    }
}

impl<'a, K: for<'k> From<&'k [u8]>, V, const M: bool> IntoIterator for &'a mut Dict<K, V, M> {
    type Item = (&'a [u8], &'a mut V);
    type IntoIter = IterMut<'a, V, M>;

    fn into_iter(self) -> IterMut<'a, V, M> {
        self.iter_mut()
    }
}
