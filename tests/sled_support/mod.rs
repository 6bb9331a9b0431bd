//! What the tests of the vendored sled share (`sled_batches.rs`, `sled_leaves.rs`,
//! `sled_open.rs`, `sled_cache.rs`, `sled_pagetable.rs` and the others).

/// A key of table `table` (its first byte) and number `n`, big-endian, so keys sort by
/// table, then number.
pub fn key(table: u8, n: u64) -> Vec<u8> {
    let mut k = vec![table];
    k.extend_from_slice(&n.to_be_bytes());
    k
}

/// A store at `dir/db` with a cache of `cache` bytes (the cache tests'; the binaries
/// that set other options build their own).
#[allow(dead_code)]
pub fn config(dir: &std::path::Path, cache: u64) -> sled::Config {
    sled::Config::new()
        .path(dir.join("db"))
        .cache_capacity(cache)
}

/// Opens sled again after a `drop`: its last file handle can outlive the `Db` a moment (an
/// I/O thread finishing), and meanwhile sled refuses the open for its file lock. The store
/// waits the same way (`open_sled` in `src/domain/store_open.rs`).
pub fn reopen(config: &sled::Config) -> sled::Db {
    for _ in 0..250 {
        match config.open() {
            Ok(db) => return db,
            Err(e) if e.to_string().contains("could not acquire lock") => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => panic!("reopen: {e}"),
        }
    }
    panic!("reopen: sled's file lock was still held after 5 s");
}

/// Everything the store holds, in key order.
pub fn contents(db: &sled::Db) -> std::collections::BTreeMap<Vec<u8>, Vec<u8>> {
    db.iter()
        .map(|r| {
            let (k, v) = r.unwrap();
            (k.to_vec(), v.to_vec())
        })
        .collect()
}
