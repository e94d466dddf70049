//! `leadpipe deals import` and `leadpipe spend import`.

use super::base::{open_or_create, with_settings};
use super::{print_json, CmdResult};
use clap::{Args, Subcommand};
use leadpipe::deals::{TableImport, TableOptions};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum DealsCommand {
    Import(DealsImportArgs),
}

#[derive(Subcommand)]
pub enum SpendCommand {
    Import(SpendImportArgs),
}

/// How the file is laid out (all detected when not given).
#[derive(Args, Clone)]
pub struct Layout {
    /// Column names, comma-separated, for a file without a header row (its first line
    /// is data); `-` or `_` for a column to keep but not read.
    #[arg(long, value_delimiter = ',')]
    header: Option<Vec<String>>,
    /// `;` `,` `|` `tab`, or `whitespace` for columns aligned with spaces.
    #[arg(long)]
    delimiter: Option<String>,
    /// Text encoding (windows-1251, utf-8 …).
    #[arg(long)]
    encoding: Option<String>,
    /// XLSX sheet (the first by default).
    #[arg(long)]
    sheet: Option<String>,
    /// Currency of amounts that name none.
    #[arg(long, default_value = "RUB")]
    currency: String,
}

/// Load deals or orders: each row a date, an amount and who bought (phone, e-mail, lead
/// id or the CRM's customer id), optionally a status (won, lost, refunded, open), the
/// currency, the product and the channel. Headers are read in Russian or English.
#[derive(Args)]
#[command(after_help = "Examples:
  leadpipe deals import orders.xlsx --db leads.duckdb
  leadpipe deals import crm-deals.csv --column \"Ответственный=\" --db leads.duckdb
  leadpipe deals import CDNOW_sample.txt --delimiter whitespace \\
      --header customer_id,-,date,quantity,amount --currency USD --db cdnow.duckdb

Headers such as Дата, Сумма, Статус, Клиент, Телефон, E-mail, Товар, Категория, Источник
(or date, amount, status, customer, phone, email, product, category, source) are read
without a map. Rows that cannot be read are kept in `deal_rejects` with the column and the
reason; the same file loaded again changes nothing; a deal exported again under the same
number counts as its latest row. Deals are linked to leads by phone, e-mail or lead id at
every run (and by `leadpipe analyse`), so customers who become leads later are found.")]
pub struct DealsImportArgs {
    file: PathBuf,
    #[arg(long, default_value = "leadpipe.duckdb")]
    db: PathBuf,
    #[command(flatten)]
    layout: Layout,
    /// Map a header to a field: HEADER=FIELD (date, amount, currency, status,
    /// customer_ref, lead_id, phone, email, name, product, category, quantity, channel,
    /// deal_ref), or HEADER= to leave a column unread (repeatable).
    #[arg(long = "column")]
    columns: Vec<String>,
    #[arg(long)]
    json: bool,
}

/// Load what sources cost: each row a source (a list, a campaign: the name leads or
/// deals carry), a period (2026-03, or from and to dates) and an amount.
#[derive(Args)]
#[command(after_help = "Examples:
  leadpipe spend import spend-2026.csv --db leads.duckdb

A source is matched by name with the leads' source (the pipeline file's source name) and
with the deals' channel; `leadpipe analyse` divides its spend by the customers and callable
leads it brought.")]
pub struct SpendImportArgs {
    file: PathBuf,
    #[arg(long, default_value = "leadpipe.duckdb")]
    db: PathBuf,
    #[command(flatten)]
    layout: Layout,
    #[arg(long)]
    json: bool,
}

fn options(layout: &Layout, columns: Vec<String>) -> TableOptions {
    TableOptions {
        header: layout.header.clone(),
        delimiter: layout.delimiter.clone(),
        encoding: layout.encoding.clone(),
        sheet: layout.sheet.clone(),
        columns,
        currency: layout.currency.trim().to_ascii_uppercase(),
    }
}

pub fn deals(command: DealsCommand) -> CmdResult {
    let DealsCommand::Import(args) = command;
    let (store, settings) = with_settings(open_or_create(&args.db)?)?;
    let loaded = leadpipe::deals::import_deals(
        &store,
        &args.file,
        &options(&args.layout, args.columns),
        &settings.normaliser,
        &format!("deals import {}", args.file.display()),
    )?;
    print_import(&loaded, "deals", args.json);
    Ok(())
}

pub fn spend(command: SpendCommand) -> CmdResult {
    let SpendCommand::Import(args) = command;
    let (store, settings) = with_settings(open_or_create(&args.db)?)?;
    let loaded = leadpipe::deals::import_spend(
        &store,
        &args.file,
        &options(&args.layout, Vec::new()),
        &settings.normaliser,
        &format!("spend import {}", args.file.display()),
    )?;
    print_import(&loaded, "spend rows", args.json);
    Ok(())
}

fn print_import(r: &TableImport, what: &str, json: bool) {
    if json {
        print_json(r);
        return;
    }
    if let Some(before) = &r.already_loaded_from {
        println!(
            "{}: already loaded (from {before}); nothing changed",
            r.file
        );
        return;
    }
    println!(
        "{}: {} rows read, {} {what} loaded, {} rejected",
        r.file, r.rows_read, r.loaded, r.rows_rejected
    );
    for (k, n) in &r.by_kind {
        println!("  {k:<20} {n:>10}");
    }
    if r.earlier_rows_replaced > 0 {
        println!(
            "  {} rows of earlier files replaced (the same deal numbers again)",
            r.earlier_rows_replaced
        );
    }
    for reject in &r.rejects {
        println!("  {}: {reject}", r.file);
    }
    if r.rows_rejected > r.rejects.len() as u64 {
        println!(
            "  … and {} more: SELECT * FROM deal_rejects",
            r.rows_rejected - r.rejects.len() as u64
        );
    }
}
