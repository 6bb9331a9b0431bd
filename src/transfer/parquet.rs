//! A small Apache Parquet writer, enough for exports: flat schemas of optional columns
//! (INT64 integers, INT64 DECIMAL(18,2) points, INT64 TIMESTAMP(MILLIS, UTC) instants,
//! UTF-8 BYTE_ARRAY text), PLAIN encoded, uncompressed, one data page per column per row
//! group. Rows are buffered a row group at a time (`ROW_GROUP` rows), so memory stays
//! bounded however large the table. The footer is Thrift's compact protocol, written here
//! by hand (the format's spec: github.com/apache/parquet-format, `parquet.thrift`), which
//! keeps the `parquet`/`arrow` crates (and their build time) out of the crate.

use std::io::{self, Write};

use super::export::{Cell, Kind};

/// Rows per row group: what is held in memory at once.
pub const ROW_GROUP: usize = 65_536;

const MAGIC: &[u8] = b"PAR1";

// Parquet enums (parquet.thrift).
const INT64: i32 = 2;
const BYTE_ARRAY: i32 = 6;
const OPTIONAL: i32 = 1;
const UTF8: i32 = 0;
const DECIMAL: i32 = 5;
const TIMESTAMP_MILLIS: i32 = 9;
const INT_64: i32 = 18;
const PLAIN: i32 = 0;
const RLE: i32 = 3;
const DATA_PAGE: i32 = 0;
const UNCOMPRESSED: i32 = 0;

/// Thrift compact protocol, the parts a footer needs.
#[derive(Default)]
struct Thrift {
    buf: Vec<u8>,
    last: Vec<i16>,
    field: i16,
}

const T_TRUE: u8 = 1;
const T_FALSE: u8 = 2;
const T_I32: u8 = 5;
const T_I64: u8 = 6;
const T_BINARY: u8 = 8;
const T_LIST: u8 = 9;
const T_STRUCT: u8 = 12;

impl Thrift {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }
    fn zigzag(&mut self, v: i64) {
        self.varint(((v << 1) ^ (v >> 63)) as u64);
    }
    fn header(&mut self, id: i16, t: u8) {
        let delta = id - self.field;
        if (1..=15).contains(&delta) {
            self.buf.push(((delta as u8) << 4) | t);
        } else {
            self.buf.push(t);
            self.zigzag(i64::from(id));
        }
        self.field = id;
    }
    fn i32(&mut self, id: i16, v: i32) {
        self.header(id, T_I32);
        self.zigzag(i64::from(v));
    }
    fn i64(&mut self, id: i16, v: i64) {
        self.header(id, T_I64);
        self.zigzag(v);
    }
    fn bool(&mut self, id: i16, v: bool) {
        self.header(id, if v { T_TRUE } else { T_FALSE });
    }
    fn string(&mut self, id: i16, s: &str) {
        self.header(id, T_BINARY);
        self.varint(s.len() as u64);
        self.buf.extend_from_slice(s.as_bytes());
    }
    fn begin(&mut self, id: i16) {
        self.header(id, T_STRUCT);
        self.open();
    }
    /// Enters a struct (a field's, or a list element's).
    fn open(&mut self) {
        self.last.push(self.field);
        self.field = 0;
    }
    fn end(&mut self) {
        self.buf.push(0);
        self.field = self.last.pop().unwrap_or(0);
    }
    fn list(&mut self, id: i16, elem: u8, n: usize) {
        self.header(id, T_LIST);
        if n < 15 {
            self.buf.push(((n as u8) << 4) | elem);
        } else {
            self.buf.push(0xf0 | elem);
            self.varint(n as u64);
        }
    }
    fn list_string(&mut self, s: &str) {
        self.varint(s.len() as u64);
        self.buf.extend_from_slice(s.as_bytes());
    }
}

/// One column's buffered values of the current row group.
struct Column {
    name: &'static str,
    kind: Kind,
    defined: Vec<bool>,
    values: Vec<u8>,
}

struct Chunk {
    offset: u64,
    size: u64,
    values: u64,
}

/// Counts what passes through, for the file offsets the footer records.
struct Counting<W> {
    out: W,
    at: u64,
}

impl<W: Write> Counting<W> {
    fn write(&mut self, b: &[u8]) -> io::Result<()> {
        self.out.write_all(b)?;
        self.at += b.len() as u64;
        Ok(())
    }
}

pub struct Writer<W: Write> {
    out: Counting<W>,
    group_rows: usize,
    columns: Vec<Column>,
    rows: usize,
    total_rows: u64,
    groups: Vec<(u64, Vec<Chunk>)>,
}

impl<W: Write> Writer<W> {
    pub fn new(out: W, schema: &'static [(&'static str, Kind)]) -> io::Result<Writer<W>> {
        Writer::with_row_group(out, schema, ROW_GROUP)
    }

    /// A writer that starts a new row group every `group_rows` rows.
    pub fn with_row_group(
        out: W,
        schema: &'static [(&'static str, Kind)],
        group_rows: usize,
    ) -> io::Result<Writer<W>> {
        let mut out = Counting { out, at: 0 };
        out.write(MAGIC)?;
        Ok(Writer {
            out,
            group_rows: group_rows.max(1),
            columns: schema
                .iter()
                .map(|&(name, kind)| Column {
                    name,
                    kind,
                    defined: Vec::new(),
                    values: Vec::new(),
                })
                .collect(),
            rows: 0,
            total_rows: 0,
            groups: Vec::new(),
        })
    }

    pub fn row(&mut self, cells: Vec<Cell>) -> io::Result<()> {
        for (c, cell) in self.columns.iter_mut().zip(cells) {
            let v: Option<Vec<u8>> = match (c.kind, cell) {
                (Kind::Int, Cell::Int(v)) | (Kind::Time, Cell::Time(v)) => {
                    v.map(|n| n.to_le_bytes().to_vec())
                }
                (Kind::Points, Cell::Points(v)) => v.map(|p| p.0.to_le_bytes().to_vec()),
                (Kind::Text, Cell::Text(v)) => v.map(|s| {
                    let mut b = (s.len() as u32).to_le_bytes().to_vec();
                    b.extend_from_slice(s.as_bytes());
                    b
                }),
                (k, cell) => {
                    return Err(io::Error::other(format!(
                        "column {} is {k:?} but got {cell:?}",
                        c.name
                    )));
                }
            };
            c.defined.push(v.is_some());
            if let Some(v) = v {
                c.values.extend_from_slice(&v);
            }
        }
        self.rows += 1;
        if self.rows >= self.group_rows {
            self.flush_group()?;
        }
        Ok(())
    }

    fn flush_group(&mut self) -> io::Result<()> {
        if self.rows == 0 {
            return Ok(());
        }
        let mut chunks = Vec::with_capacity(self.columns.len());
        let mut group_bytes = 0u64;
        for c in &mut self.columns {
            // Definition levels (0 null, 1 present): the RLE/bit-packed hybrid, bit-packed
            // groups of 8, prefixed by their length (data page v1).
            let groups = c.defined.len().div_ceil(8);
            let mut levels = Thrift::default();
            levels.varint(((groups as u64) << 1) | 1);
            let mut packed = vec![0u8; groups];
            for (i, d) in c.defined.iter().enumerate() {
                if *d {
                    packed[i / 8] |= 1 << (i % 8);
                }
            }
            levels.buf.extend_from_slice(&packed);
            let mut page = (levels.buf.len() as u32).to_le_bytes().to_vec();
            page.extend_from_slice(&levels.buf);
            page.extend_from_slice(&c.values);

            let mut h = Thrift::default();
            h.i32(1, DATA_PAGE);
            h.i32(2, page.len() as i32);
            h.i32(3, page.len() as i32);
            h.begin(5);
            h.i32(1, c.defined.len() as i32);
            h.i32(2, PLAIN);
            h.i32(3, RLE);
            h.i32(4, RLE);
            h.end();
            h.buf.push(0);

            let offset = self.out.at;
            self.out.write(&h.buf)?;
            self.out.write(&page)?;
            let size = (h.buf.len() + page.len()) as u64;
            group_bytes += size;
            chunks.push(Chunk {
                offset,
                size,
                values: c.defined.len() as u64,
            });
            c.defined.clear();
            c.values.clear();
        }
        self.total_rows += self.rows as u64;
        self.groups.push((self.rows as u64, chunks));
        let _ = group_bytes;
        self.rows = 0;
        Ok(())
    }

    fn physical(kind: Kind) -> i32 {
        match kind {
            Kind::Text => BYTE_ARRAY,
            _ => INT64,
        }
    }

    /// Writes the last row group and the footer.
    pub fn finish(mut self) -> io::Result<()> {
        self.flush_group()?;
        let mut t = Thrift::default();
        t.i32(1, 1);
        t.list(2, T_STRUCT, self.columns.len() + 1);
        t.open();
        t.string(4, "schema");
        t.i32(5, self.columns.len() as i32);
        t.end();
        for c in &self.columns {
            t.open();
            t.i32(1, Self::physical(c.kind));
            t.i32(3, OPTIONAL);
            t.string(4, c.name);
            match c.kind {
                Kind::Text => {
                    t.i32(6, UTF8);
                    t.begin(10);
                    t.begin(1); // STRING
                    t.end();
                    t.end();
                }
                Kind::Int => {
                    t.i32(6, INT_64);
                    t.begin(10);
                    t.begin(10); // INTEGER
                    t.header(1, 3); // bitWidth: i8
                    t.buf.push(64);
                    t.bool(2, true);
                    t.end();
                    t.end();
                }
                Kind::Points => {
                    t.i32(6, DECIMAL);
                    t.i32(7, 2);
                    t.i32(8, 18);
                    t.begin(10);
                    t.begin(5); // DECIMAL
                    t.i32(1, 2);
                    t.i32(2, 18);
                    t.end();
                    t.end();
                }
                Kind::Time => {
                    t.i32(6, TIMESTAMP_MILLIS);
                    t.begin(10);
                    t.begin(8); // TIMESTAMP
                    t.bool(1, true);
                    t.begin(2); // unit
                    t.begin(1); // MILLIS
                    t.end();
                    t.end();
                    t.end();
                    t.end();
                }
            }
            t.end();
        }
        t.i64(3, self.total_rows as i64);
        t.list(4, T_STRUCT, self.groups.len());
        for (rows, chunks) in &self.groups {
            t.open();
            t.list(1, T_STRUCT, chunks.len());
            for (c, chunk) in self.columns.iter().zip(chunks) {
                t.open();
                t.i64(2, chunk.offset as i64);
                t.begin(3);
                t.i32(1, Self::physical(c.kind));
                t.list(2, T_I32, 2);
                t.zigzag(i64::from(PLAIN));
                t.zigzag(i64::from(RLE));
                t.list(3, T_BINARY, 1);
                t.list_string(c.name);
                t.i32(4, UNCOMPRESSED);
                t.i64(5, chunk.values as i64);
                t.i64(6, chunk.size as i64);
                t.i64(7, chunk.size as i64);
                t.i64(9, chunk.offset as i64);
                t.end();
                t.end();
            }
            t.i64(2, chunks.iter().map(|c| c.size).sum::<u64>() as i64);
            t.i64(3, *rows as i64);
            t.end();
        }
        t.string(6, "onepoint");
        t.buf.push(0);
        self.out.write(&t.buf)?;
        self.out.write(&(t.buf.len() as u32).to_le_bytes())?;
        self.out.write(MAGIC)?;
        self.out.out.flush()
    }
}
