//! The vendored sled's batches (`vendor/sled/ONEPOINT.md`): a batch's writes that land in
//! one leaf are applied to one copy of it and written as one replace of the page. Checked
//! against a model map: appends (as deal ids), scattered updates (as accounts), deletes,
//! no-op writes and keys written again, after every batch and after a reopen.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};

fn key(space: u8, n: u64) -> Vec<u8> {
    let mut k = vec![space];
    k.extend_from_slice(&n.to_be_bytes());
    k
}

fn contents(db: &sled::Db) -> BTreeMap<Vec<u8>, Vec<u8>> {
    db.iter()
        .map(|r| {
            let (k, v) = r.unwrap();
            (k.to_vec(), v.to_vec())
        })
        .collect()
}

#[test]
fn batches_with_runs_in_one_leaf_hold_what_a_map_holds_also_after_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let config = sled::Config::new().path(dir.path().join("db"));
    let db = config.open().unwrap();
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut next_append = 0u64;
    for round in 0..300 {
        let mut writes: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
        // Appends: long runs into the rightmost leaf, more than a leaf holds at times.
        for _ in 0..rng.random_range(0..200) {
            next_append += 1;
            writes.insert(
                key(b'D', next_append),
                Some(next_append.to_le_bytes().to_vec()),
            );
        }
        // Scattered updates and deletes over a small space: several land in one leaf.
        for _ in 0..rng.random_range(0..300) {
            let k = key(b'A', rng.random_range(0..3_000));
            let v =
                (rng.random_range(0..4) > 0).then(|| vec![round as u8; rng.random_range(0..40)]);
            writes.insert(k, v);
        }
        // Deletes of appended keys, dense and sparse.
        if next_append > 0 {
            let from = rng.random_range(0..next_append);
            for n in from..(from + rng.random_range(0..80)).min(next_append) {
                if rng.random_range(0..3) > 0 {
                    writes.insert(key(b'D', n), None);
                }
            }
        }
        // Rewrites with the value already held (no-ops).
        let held: Vec<(Vec<u8>, Vec<u8>)> = model
            .iter()
            .skip(rng.random_range(0..model.len().max(1)))
            .take(20)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (k, v) in held {
            writes.entry(k).or_insert(Some(v));
        }
        let mut batch = sled::Batch::default();
        for (k, v) in &writes {
            match v {
                Some(v) => batch.insert(k.clone(), v.clone()),
                None => batch.remove(k.clone()),
            }
        }
        db.apply_batch(batch).unwrap();
        for (k, v) in writes {
            match v {
                Some(v) => model.insert(k, v),
                None => model.remove(&k),
            };
        }
        if round % 25 == 0 {
            assert_eq!(contents(&db), model, "after batch {round}");
        }
    }
    assert_eq!(contents(&db), model);
    db.flush().unwrap();
    drop(db);
    let db = config.open().unwrap();
    assert_eq!(contents(&db), model, "after a reopen");
    assert!(model.len() > 10_000, "{} keys", model.len());
}
