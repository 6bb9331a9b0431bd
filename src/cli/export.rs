//! `onepoint export deals|members|billings [--format csv|json|parquet] [--output FILE]`:
//! the arguments and the output file; the export itself is `transfer::export`.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::api::{Error, Result};
use crate::transfer::export::{Failure, export};
use crate::transfer::{Format, Table};

use super::args::{ExportArgs, ExportFormat, ExportWhat};
use super::commands::Ctx;
use super::output::{Record, print, progress};

pub fn run(ctx: &Ctx, a: &ExportArgs) -> Result<i32> {
    let format = match a.format {
        Some(ExportFormat::Csv) => Format::Csv,
        Some(ExportFormat::Json) => Format::Json,
        Some(ExportFormat::Parquet) => Format::Parquet,
        None if ctx.json => Format::Json,
        None => Format::Csv,
    };
    let table = match a.what {
        ExportWhat::Deals => Table::Deals,
        ExportWhat::Members => Table::Members,
        ExportWhat::Billings => Table::Billings,
    };
    if format == Format::Parquet && a.output.is_none() && io::stdout().is_terminal() {
        return Err(Error::invalid(
            "output",
            "is required for --format parquet on a terminal (Parquet is binary): pass --output FILE",
        ));
    }
    let (out, target): (Box<dyn Write>, Option<(PathBuf, PathBuf)>) = match &a.output {
        Some(path) => {
            let tmp = partial_path(path);
            let f = File::create(&tmp)
                .map_err(|e| Error::store(format!("cannot create {}: {e}", tmp.display())))?;
            (Box::new(f), Some((tmp, path.clone())))
        }
        None => (Box::new(io::stdout().lock()), None),
    };
    let bar = progress(0, table.as_str());
    let mut on_progress = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
    };
    let written = export(
        ctx.port,
        table,
        format,
        BufWriter::with_capacity(1 << 16, out),
        &mut on_progress,
    );
    bar.finish_and_clear();
    let rows = match written {
        Ok(n) => n,
        // The reader of stdout went away (`| head`): it has what it wanted.
        Err(Failure::Io(e)) if target.is_none() && e.kind() == io::ErrorKind::BrokenPipe => {
            return Ok(0);
        }
        Err(f) => {
            if let Some((tmp, _)) = &target {
                let _ = std::fs::remove_file(tmp);
            }
            return Err(f.into_error());
        }
    };
    if let Some((tmp, path)) = target {
        std::fs::rename(&tmp, &path)
            .map_err(|e| Error::store(format!("cannot write {}: {e}", path.display())))?;
        let what = table.as_str();
        let summary = serde_json::json!({
            "exported": what, "rows": rows, "output": path.display().to_string()
        });
        print(ctx.json, &summary, || {
            Record::new()
                .field("exported", what)
                .field("rows", rows)
                .field("output", path.display())
                .render()
        })?;
    }
    Ok(0)
}

use std::io::IsTerminal;

/// Written next to the target and renamed over it once complete, so a failed export never
/// leaves a truncated file that looks whole.
fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    path.with_file_name(name)
}
