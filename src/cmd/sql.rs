//! `leadpipe sql`: query the base without installing a DuckDB client. The base is opened
//! read-only, so a query can never change it.

use super::base::open_for_reading;
use super::{CliError, CmdResult};
use clap::{Args, ValueEnum};
use std::io::Write;
use std::path::PathBuf;

/// Run one SQL query over the base (read-only) and print its rows.
#[derive(Args)]
#[command(after_help = "Examples:
  leadpipe sql \"SELECT lead_id, full_name, phone_e164, call_consent FROM leads\" --db demo.duckdb
  leadpipe sql \"SELECT source, reason_code, count(*) FROM rejects GROUP BY ALL\" --db demo.duckdb
  leadpipe sql \"DESCRIBE leads\" --db demo.duckdb
  leadpipe sql \"SELECT * FROM records\" --db demo.duckdb --format csv > records.csv")]
pub struct SqlArgs {
    /// The query: SELECT, DESCRIBE, SHOW TABLES, SUMMARIZE …
    query: String,
    /// DuckDB file to read.
    #[arg(long, default_value = "leadpipe.duckdb")]
    db: PathBuf,
    /// `table` (aligned text), `csv` (with a header) or `jsonl` (one JSON object per row).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Rows shown at most as a table (csv and jsonl print every row).
    #[arg(long, default_value_t = 100)]
    limit: usize,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Table,
    Csv,
    Jsonl,
}

pub fn run(args: SqlArgs) -> CmdResult {
    let store = open_for_reading(&args.db)?;
    let query = args.query.trim().trim_end_matches(';');
    // Every column as text, so any type prints (lists, structs, times with their zone).
    let wrapped = format!("SELECT COLUMNS(*)::VARCHAR FROM ({query}\n)");
    let refused = |e: duckdb::Error| {
        CliError::BadArgument(format!(
            "the query failed: {e} (leadpipe sql opens the base read-only: it runs queries that read)"
        ))
    };
    let mut stmt = store.connection().prepare(&wrapped).map_err(refused)?;
    let mut rows = stmt.query([]).map_err(refused)?;
    let names: Vec<String> = rows.as_ref().map(|s| s.column_names()).unwrap_or_default();
    let mut out = Printer::new(args.format, args.limit, &names);
    while let Some(row) = rows.next().map_err(refused)? {
        let values = (0..names.len())
            .map(|i| row.get::<_, Option<String>>(i))
            .collect::<Result<Vec<_>, _>>()
            .map_err(refused)?;
        out.row(values);
    }
    out.finish();
    Ok(())
}

/// Prints rows as they come (csv, jsonl) or, for a table, the first `limit` aligned.
struct Printer<'a> {
    format: Format,
    limit: usize,
    names: &'a [String],
    table: Vec<Vec<Option<String>>>,
    rows: usize,
    csv: Option<csv::Writer<std::io::Stdout>>,
}

impl<'a> Printer<'a> {
    fn new(format: Format, limit: usize, names: &'a [String]) -> Printer<'a> {
        let mut csv = (format == Format::Csv).then(|| csv::Writer::from_writer(std::io::stdout()));
        if let Some(w) = csv.as_mut() {
            let _ = w.write_record(names);
        }
        Printer {
            format,
            limit,
            names,
            table: Vec::new(),
            rows: 0,
            csv,
        }
    }

    fn row(&mut self, values: Vec<Option<String>>) {
        self.rows += 1;
        match self.format {
            Format::Csv => {
                if let Some(w) = self.csv.as_mut() {
                    let _ = w.write_record(values.iter().map(|v| v.as_deref().unwrap_or("")));
                }
            }
            Format::Jsonl => {
                let object: serde_json::Map<String, serde_json::Value> = self
                    .names
                    .iter()
                    .cloned()
                    .zip(
                        values
                            .into_iter()
                            .map(|v| v.map_or(serde_json::Value::Null, serde_json::Value::String)),
                    )
                    .collect();
                println!("{}", serde_json::Value::Object(object));
            }
            Format::Table if self.table.len() < self.limit => self.table.push(values),
            Format::Table => {}
        }
    }

    fn finish(mut self) {
        if let Some(mut w) = self.csv.take() {
            let _ = w.flush();
        }
        if self.format != Format::Table {
            return;
        }
        let cell = |v: &Option<String>| v.clone().unwrap_or_else(|| "NULL".into());
        let widths: Vec<usize> = (0..self.names.len())
            .map(|i| {
                self.table
                    .iter()
                    .map(|r| cell(&r[i]).chars().count().min(60))
                    .chain([self.names[i].chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: Vec<String>| {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{:<w$}", super::truncate(c, *w), w = *w))
                .collect();
            println!("{}", padded.join("  ").trim_end());
        };
        line(self.names.to_vec());
        line(widths.iter().map(|w| "-".repeat(*w)).collect());
        for r in &self.table {
            line(r.iter().map(cell).collect());
        }
        let shown = self.table.len();
        let _ = std::io::stdout().flush();
        let mut err = std::io::stderr();
        if self.rows > shown {
            let _ = writeln!(
                err,
                "({} rows, first {shown} shown: --limit N, or --format csv for all)",
                self.rows
            );
        } else {
            let _ = writeln!(err, "({} rows)", self.rows);
        }
    }
}
