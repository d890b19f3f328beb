//! Interning of a layer's texts and value rows while it loads.
//!
//! A published layer repeats itself: a million flood zones carry a few hundred distinct rows
//! (river, scenario, depth band), so each distinct row is kept once and shared by every feature
//! that has it. That is a quarter of a large layer's memory (a row of 13 values is 312 bytes
//! plus its allocation), and sharing the text `Arc`s also lets the tile encoder deduplicate
//! tag values by address.

use crate::dataset::Val;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;

type Fast = foldhash::fast::FixedState;

/// Distinct texts and rows seen so far.
#[derive(Default)]
pub struct Pool {
    texts: HashSet<Arc<str>, Fast>,
    /// Rows by hash (collisions share a bucket).
    rows: HashMap<u64, Vec<Arc<[Val]>>, Fast>,
}

impl Pool {
    /// The shared copy of `s`.
    pub fn text(&mut self, s: &str) -> Arc<str> {
        if let Some(a) = self.texts.get(s) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(s);
        self.texts.insert(a.clone());
        a
    }

    /// The shared copy of a row equal to `values` (floats compared bit for bit, so a NaN row
    /// is shared with its identical twin too).
    pub fn row(&mut self, values: &[Val]) -> Arc<[Val]> {
        let mut h = Fast::default().build_hasher();
        for v in values {
            hash_val(v, &mut h);
        }
        let bucket = self.rows.entry(h.finish()).or_default();
        if let Some(r) = bucket.iter().find(|r| same_row(r, values)) {
            return r.clone();
        }
        let r: Arc<[Val]> = values.into();
        bucket.push(r.clone());
        r
    }

    /// Number of distinct rows (for tests and logs).
    pub fn distinct_rows(&self) -> usize {
        self.rows.values().map(Vec::len).sum()
    }
}

fn hash_val(v: &Val, h: &mut impl Hasher) {
    match v {
        Val::Null => 0u8.hash(h),
        Val::Int(i) => (1u8, i).hash(h),
        Val::Float(f) => (2u8, f.to_bits()).hash(h),
        Val::Text(s) => (3u8, &**s).hash(h),
        Val::Bool(b) => (4u8, b).hash(h),
    }
}

fn same_row(a: &[Val], b: &[Val]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| match (x, y) {
            (Val::Float(p), Val::Float(q)) => p.to_bits() == q.to_bits(),
            _ => x == y,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_rows_share_one_allocation_and_different_ones_do_not() {
        let mut p = Pool::default();
        let t = p.text("旭川");
        let a = p.row(&[Val::Text(t.clone()), Val::Int(3), Val::Float(0.5)]);
        let b = p.row(&[Val::Text("旭川".into()), Val::Int(3), Val::Float(0.5)]);
        let c = p.row(&[Val::Text(t.clone()), Val::Int(4), Val::Float(0.5)]);
        let d = p.row(&[Val::Text(t), Val::Int(3), Val::Float(-0.5)]);
        let n1 = p.row(&[Val::Float(f64::NAN), Val::Null]);
        let n2 = p.row(&[Val::Float(f64::NAN), Val::Null]);
        let e = p.row(&[Val::Null, Val::Float(f64::NAN)]);
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c) && !Arc::ptr_eq(&a, &d));
        assert!(Arc::ptr_eq(&n1, &n2) && !Arc::ptr_eq(&n1, &e));
        assert_eq!(
            &*c,
            &[Val::Text("旭川".into()), Val::Int(4), Val::Float(0.5)]
        );
        assert_eq!(p.distinct_rows(), 5);
        assert!(Arc::ptr_eq(&p.text("旭川"), &p.text("旭川")));
    }
}
