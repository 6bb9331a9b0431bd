//! sled's page table frees every page it holds when the store closes (vendored sled, item
//! 39). Since item 28 a page of the snapshot is installed only when first read, so the
//! table has empty slots below pages it holds; upstream's drop stopped at the first empty
//! slot (the table being dense) and leaked every page after it. The store reopens sled for
//! a snapshot every million keys written, so a console under live traffic grew by its
//! cache at each reopen (`onepoint demo --rate 2000` on a 10M-deal store: 223 MB after a
//! minute, 577 MB after five). One test in this binary: the count of pages dropped is the
//! process's.

mod sled_support;

use sled_support::{config, contents, key, reopen};

#[test]
fn a_closed_store_frees_every_page_it_read_even_past_pages_never_read() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), 64 << 20);
    let n = 100_000u64;
    {
        let db = config.open().unwrap();
        for chunk in (0..n).collect::<Vec<_>>().chunks(5_000) {
            let mut batch = sled::Batch::default();
            for &i in chunk {
                batch.insert(key(b'k', i), i.to_be_bytes().to_vec());
            }
            db.apply_batch(batch).unwrap();
        }
        db.flush().unwrap();
    }
    // The open after the writes writes a snapshot of every page; the one after it reads
    // the pages from that snapshot, each installed when first read.
    drop(reopen(&config));
    let db = reopen(&config);
    let installed_at_open = db.pages_installed();
    // Only the upper half read: the lower half's pages stay empty slots below them.
    for i in (n / 2..n).step_by(50) {
        assert_eq!(
            db.get(key(b'k', i)).unwrap().as_deref(),
            Some(&i.to_be_bytes()[..])
        );
    }
    let installed = db.pages_installed();
    assert!(
        installed > installed_at_open + 50,
        "the reads must install pages to test their drop: {installed_at_open} at open, \
         {installed} after"
    );
    let before = sled::pages_dropped();
    drop(db);
    // The page cache may be dropped by sled's I/O thread a moment after: wait up to 5 s.
    let mut dropped = 0;
    for _ in 0..250 {
        dropped = sled::pages_dropped() - before;
        if dropped >= installed {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(
        dropped >= installed,
        "{installed} pages installed, {dropped} freed when the store closed"
    );
    // Freeing them lost nothing: the store reads back whole.
    let db = reopen(&config);
    let all = contents(&db);
    assert_eq!(all.len() as u64, n);
    assert!(all.iter().all(|(k, v)| k[1..] == v[..]));
}
