//! Parquet exports read back by an independent reader (pyarrow, installed by `.ci/run`):
//! the types a DuckDB, pandas or Spark user gets, and every value. The test fails, not
//! skips, when python3 or pyarrow is missing.

mod cli_support;

use std::path::Path;
use std::process::Command;

use cli_support::{Store, previous_month, w};
use onepoint::domain::Points;
use onepoint::transfer::export::{Cell, Kind};
use onepoint::transfer::parquet::Writer;
use serde_json::Value;

/// Reads a Parquet file with pyarrow: the schema as text, and the columns (decimals as
/// strings, timestamps as epoch milliseconds, nulls as null).
fn pyarrow_read(path: &Path) -> Value {
    let script = r#"
import json, sys
import pyarrow as pa, pyarrow.parquet as pq
t = pq.read_table(sys.argv[1])
cols = {}
for f in t.schema:
    c = t.column(f.name)
    if pa.types.is_timestamp(f.type):
        c = c.cast(pa.int64())
    cols[f.name] = [None if v is None else (str(v) if pa.types.is_decimal(f.type) else v) for v in c.to_pylist()]
meta = pq.ParquetFile(sys.argv[1]).metadata
print(json.dumps({"schema": {f.name: str(f.type) for f in t.schema}, "rows": t.num_rows,
                  "groups": meta.num_row_groups, "columns": cols}))
"#;
    let out = Command::new("python3")
        .args(["-c", script, path.to_str().unwrap()])
        .output()
        .expect("python3 must be installed to run this test (.ci/run installs pyarrow)");
    assert!(
        out.status.success(),
        "pyarrow could not read the file (is pyarrow installed? .ci/run installs it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn ms(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .timestamp_millis()
}

#[test]
fn a_deal_export_reads_back_with_its_types_and_every_value() {
    let s = Store::new();
    let (month, date) = previous_month();
    s.join("안서연");
    s.join("Kim");
    s.ok(&w("merchant add --id 7 --name Café --earn-rate 1"));
    let deal = |args: &[&str], code: i32| {
        let mut all = vec!["deal"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--date", &date]);
        s.json(&all, code)
    };
    deal(&w("save --member 1 --merchant 7 --amount 123456"), 0);
    let used = deal(&w("use --member 1 --merchant 7 --points 0.05"), 0);
    deal(&w("use --member 2 --merchant 20 --points 10"), 3);
    deal(&["cancel", &used["id"].to_string()], 0);
    s.ok(&["billing", "run", "--merchant", "7", "--month", &month]);

    let file = s.path().join("deals.parquet");
    s.ok(&[
        "export",
        "deals",
        "--format",
        "parquet",
        "--output",
        file.to_str().unwrap(),
    ]);
    let got = pyarrow_read(&file);
    let schema = &got["schema"];
    assert_eq!(schema["id"], "int64");
    assert_eq!(schema["memberId"], "int64");
    assert_eq!(schema["point"], "decimal128(18, 2)");
    assert_eq!(schema["balance"], "decimal128(18, 2)");
    assert_eq!(schema["dealDate"], "timestamp[ms, tz=UTC]");
    assert_eq!(schema["type"], "string");
    assert_eq!(schema["memberName"], "string");

    // Every value equals the JSON export's.
    let json = s.ok(&w("export deals --format json"));
    let deals = json.as_array().unwrap();
    assert_eq!(got["rows"], deals.len());
    let cols = got["columns"].as_object().unwrap();
    assert_eq!(cols.len(), deals[0].as_object().unwrap().len());
    for (i, d) in deals.iter().enumerate() {
        for (name, want) in d.as_object().unwrap() {
            let have = &cols[name][i];
            match schema[name].as_str().unwrap() {
                "decimal128(18, 2)" => {
                    let p = Points::from_f64(name, want.as_f64().unwrap()).unwrap();
                    let text = format!("{}.{:02}", p.0 / 100, p.0 % 100);
                    assert_eq!(have.as_str().unwrap(), text, "{name} of row {i}");
                }
                "timestamp[ms, tz=UTC]" => {
                    assert_eq!(have.as_i64().unwrap(), ms(want.as_str().unwrap()), "{name}")
                }
                _ => assert_eq!(have, want, "{name} of row {i}"),
            }
        }
    }
    // Spot checks against what was written: 0.05 points, the café, a null billing id.
    assert_eq!(cols["point"][1], "0.05");
    assert_eq!(cols["point"][0], "1234.56");
    assert_eq!(cols["merchantName"][0], "Café");
    assert_eq!(cols["memberName"][0], "안서연");
    assert_eq!(cols["billingId"][2], Value::Null);
    assert_eq!(cols["status"][2], "fail");
}

#[test]
fn row_groups_nulls_and_negative_values_read_back() {
    static SCHEMA: [(&str, Kind); 4] = [
        ("n", Kind::Int),
        ("t", Kind::Text),
        ("p", Kind::Points),
        ("at", Kind::Time),
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.parquet");
    let f = std::fs::File::create(&path).unwrap();
    let mut wr = Writer::with_row_group(f, &SCHEMA, 3).unwrap();
    let mut want = Vec::new();
    for i in 0..10i64 {
        let row = vec![
            Cell::Int((i % 4 != 1).then_some(i * 1_000_000_007 - 5)),
            Cell::Text((i % 3 != 2).then(|| format!("r{i}é").repeat(i as usize))),
            Cell::Points((i != 5).then_some(Points(-250 + i * 99_999))),
            Cell::Time((i != 7).then_some(1_792_054_800_000 + i * 3_600_123)),
        ];
        want.push(row.clone());
        wr.row(row).unwrap();
    }
    wr.finish().unwrap();
    let got = pyarrow_read(&path);
    assert_eq!(got["rows"], 10);
    assert_eq!(got["groups"], 4);
    let c = &got["columns"];
    for (i, row) in want.iter().enumerate() {
        let Cell::Int(n) = &row[0] else { panic!() };
        assert_eq!(c["n"][i].as_i64(), *n, "n {i}");
        let Cell::Text(t) = &row[1] else { panic!() };
        assert_eq!(c["t"][i].as_str(), t.as_deref(), "t {i}");
        let Cell::Points(p) = &row[2] else { panic!() };
        let text = p.map(|p| {
            let sign = if p.0 < 0 { "-" } else { "" };
            format!("{sign}{}.{:02}", p.0.abs() / 100, p.0.abs() % 100)
        });
        assert_eq!(c["p"][i].as_str(), text.as_deref(), "p {i}");
        let Cell::Time(at) = &row[3] else { panic!() };
        assert_eq!(c["at"][i].as_i64(), *at, "at {i}");
    }
}
