//! A write set: the writes of one log record, applied to sled atomically (`store.rs`),
//! and its encoding in the write-ahead log.

use std::collections::BTreeMap;

/// Writes to apply atomically, by key. `None` removes the key.
#[derive(Default, Debug, Clone, PartialEq, Eq)]
pub struct WriteSet {
    pub(super) map: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl WriteSet {
    pub fn put(&mut self, key: &[u8], value: &[u8]) {
        self.map.insert(key.to_vec(), Some(value.to_vec()));
    }
    pub fn remove(&mut self, key: &[u8]) {
        self.map.insert(key.to_vec(), None);
    }
    pub fn len(&self) -> usize {
        self.map.len()
    }
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Its writes whose keys `keep` picks.
    pub fn only(&self, keep: impl Fn(&[u8]) -> bool) -> WriteSet {
        let map = (self.map.iter())
            .filter(|(k, _)| keep(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        WriteSet { map }
    }

    /// The log record's payload: `count u32`, then per entry `klen u32, key, vlen u32
    /// (u32::MAX: removed), value`, little-endian.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&(self.map.len() as u32).to_le_bytes());
        for (k, v) in &self.map {
            out.extend_from_slice(&(k.len() as u32).to_le_bytes());
            out.extend_from_slice(k);
            match v {
                Some(v) => {
                    out.extend_from_slice(&(v.len() as u32).to_le_bytes());
                    out.extend_from_slice(v);
                }
                None => out.extend_from_slice(&u32::MAX.to_le_bytes()),
            }
        }
    }

    pub fn decode(b: &[u8]) -> Option<WriteSet> {
        let mut at = 0usize;
        let u32_next = |at: &mut usize| -> Option<u32> {
            let v = b.get(*at..*at + 4)?;
            *at += 4;
            Some(u32::from_le_bytes(v.try_into().ok()?))
        };
        let n = u32_next(&mut at)?;
        let mut map = BTreeMap::new();
        for _ in 0..n {
            let kl = u32_next(&mut at)? as usize;
            let k = b.get(at..at.checked_add(kl)?)?.to_vec();
            at += kl;
            let vl = u32_next(&mut at)?;
            let v = if vl == u32::MAX {
                None
            } else {
                let v = b.get(at..at.checked_add(vl as usize)?)?.to_vec();
                at += vl as usize;
                Some(v)
            };
            map.insert(k, v);
        }
        (at == b.len()).then_some(WriteSet { map })
    }
}
