//! Moving data in and out of a store through the port, for every front end (the CLI's
//! `export`/`import`, and the console or server when they offer them): exports streamed a
//! page at a time as CSV, JSON or Parquet; the deal import with its checking first pass.
//! Nothing here prints or reads arguments: callers pass a writer, a path and callbacks.

pub mod deal_csv;
pub mod export;
pub mod import;
pub mod parquet;

/// What to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Deals,
    Members,
    Billings,
}

impl Table {
    pub fn as_str(self) -> &'static str {
        match self {
            Table::Deals => "deals",
            Table::Members => "members",
            Table::Billings => "billings",
        }
    }
}

/// How to write it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    /// One JSON array, an element per row.
    Json,
    /// Apache Parquet: typed columns (integers, decimals of scale 2, timestamps).
    Parquet,
}
