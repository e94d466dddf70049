//! `leadpipe analyse` and `leadpipe segments`.

use super::base::{open_existing, with_settings};
use super::{print_json, CliError, CmdResult};
use chrono::NaiveDate;
use clap::Args;
use leadpipe::analyse::{analyse, AnalyseOptions};
use leadpipe::lang::Lang;
use leadpipe::store::analysis::metrics::Period;
use std::path::PathBuf;

/// Analyse the base: revenue, retention, average check, repeat purchases, cohorts, RFM,
/// acquisition cost and lifetime value per source, freshness, and the BG/NBD +
/// Gamma-Gamma lifetime-value model fitted on the deals (predictions stored per customer
/// in `customer_value`).
#[derive(Args)]
#[command(after_help = "Examples:
  leadpipe analyse --db leads.duckdb --out analysis.html
  leadpipe analyse --db leads.duckdb --period quarter --out analysis.xlsx
  leadpipe analyse --db cdnow.duckdb --until 1997-09-30 --json

--until counts deals up to that day and fits the models on them (the calibration period);
the segment tables (`customers`, `customer_rfm`, `lead_segments`) are left as of that day.")]
pub struct AnalyseArgs {
    #[arg(long, default_value = "leadpipe.duckdb")]
    db: PathBuf,
    /// analysis.html (charts) or analysis.xlsx (one sheet per table).
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = PeriodArg::Month)]
    period: PeriodArg,
    /// The last day counted (default today, in the base's zone).
    #[arg(long)]
    until: Option<NaiveDate>,
    /// Weeks ahead the model predicts purchases and value for.
    #[arg(long, default_value_t = 52.0)]
    horizon_weeks: f64,
    #[arg(long, value_enum)]
    lang: Option<Lang>,
    /// Print everything as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum PeriodArg {
    Month,
    Quarter,
}

pub fn run(args: AnalyseArgs) -> CmdResult {
    if !(args.horizon_weeks > 0.0 && args.horizon_weeks <= 520.0) {
        return Err(CliError::BadArgument(
            "--horizon-weeks must be above 0 and at most 520".into(),
        ));
    }
    if args.out.is_none() && !args.json {
        return Err(CliError::BadArgument(
            "give --out analysis.html (or .xlsx), or --json".into(),
        ));
    }
    let (store, settings) = with_settings(open_existing(&args.db)?)?;
    let until = args.until.unwrap_or_else(|| {
        chrono::Utc::now()
            .with_timezone(&settings.zone())
            .date_naive()
    });
    let options = AnalyseOptions {
        period: match args.period {
            PeriodArg::Month => Period::Month,
            PeriodArg::Quarter => Period::Quarter,
        },
        until,
        horizon_weeks: args.horizon_weeks,
    };
    let analysis = analyse(&store, &settings.segments, &settings.warmth, &options)?;
    if let Some(out) = &args.out {
        let xlsx = out
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
        if xlsx {
            leadpipe::analyse::xlsx::write(&analysis, out)?;
        } else {
            let page =
                leadpipe::analyse::html::render(&analysis, args.lang.unwrap_or(settings.lang));
            std::fs::write(out, page).map_err(|source| CliError::Write {
                path: out.clone(),
                source,
            })?;
        }
    }
    if args.json {
        print_json(&analysis);
    } else if let Some(out) = &args.out {
        let h = &analysis.headline;
        println!(
            "{}: {} customers, {} orders, revenue {:.2} {} up to {}",
            out.display(),
            h.totals.customers,
            h.totals.orders,
            h.totals.revenue,
            analysis.currency.clone().unwrap_or_default(),
            analysis.until
        );
    }
    Ok(())
}

/// List the segments and their sizes: life cycle, RFM, warmth, engagement, region,
/// federal district, time zone, gender, and the pipeline file's own.
#[derive(Args)]
#[command(after_help = "Examples:
  leadpipe segments --db leads.duckdb
  leadpipe segments --db leads.duckdb --refresh      after loading deals, without a run
  leadpipe call-list --db leads.duckdb --segment \"At Risk\" --out at-risk.csv")]
pub struct SegmentsArgs {
    #[arg(long, default_value = "leadpipe.duckdb")]
    db: PathBuf,
    /// Only this dimension (life_cycle, rfm, warmth, engagement, region …).
    #[arg(long)]
    dimension: Option<String>,
    /// Run the segment stage first (as of today): after `deals import`, without a run.
    #[arg(long)]
    refresh: bool,
    #[arg(long)]
    json: bool,
}

pub fn segments(args: SegmentsArgs) -> CmdResult {
    let store = if args.refresh {
        let (store, settings) = with_settings(open_existing(&args.db)?)?;
        let today = chrono::Utc::now()
            .with_timezone(&settings.zone())
            .date_naive();
        leadpipe::consent_commands::in_transaction(&store, |store| {
            Ok(store.segment(&settings.segments, &settings.warmth, today)?)
        })?;
        store
    } else {
        super::base::open_for_reading(&args.db)?
    };
    let sizes: Vec<_> = store
        .segment_sizes()?
        .into_iter()
        .filter(|s| {
            args.dimension
                .as_ref()
                .is_none_or(|d| s.dimension.eq_ignore_ascii_case(d))
        })
        .collect();
    if args.json {
        print_json(&sizes);
        return Ok(());
    }
    if sizes.is_empty() {
        println!("no segments yet: run a pipeline (its segment stage) or `leadpipe analyse`");
        return Ok(());
    }
    println!(
        "{:<18} {:<32} {:>10} {:>14}",
        "dimension", "segment", "leads", "other customers"
    );
    for s in sizes {
        println!(
            "{:<18} {:<32} {:>10} {:>14}",
            s.dimension,
            super::truncate(&s.segment, 32),
            s.leads,
            s.customers_not_leads
        );
    }
    Ok(())
}
