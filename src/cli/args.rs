//! The command line, as clap sees it (SPEC 4). Only shapes here: what each subcommand
//! does lives in `cli::commands`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "onepoint",
    version,
    about = "OnePoint membership points: operator console, headless CLI and server",
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalOpts,
    #[command(subcommand)]
    pub command: Option<CommandLine>,
}

#[derive(Debug, Clone, Args)]
pub struct GlobalOpts {
    /// Store directory (default: the XDG data dir, ~/.local/share/onepoint)
    #[arg(long, global = true, value_name = "DIR", env = "ONEPOINT_DATA")]
    pub data: Option<PathBuf>,
    /// Talk to a remote server instead of a local store
    #[arg(long, global = true, value_name = "URL")]
    pub remote: Option<String>,
    /// Bearer token for --remote
    #[arg(
        long,
        global = true,
        value_name = "TOKEN",
        env = "ONEPOINT_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
    /// A file holding the bearer token for --remote (not shown in `ps`, unlike --token);
    /// before the subcommand
    #[arg(long = "token-file", value_name = "FILE")]
    pub client_token_file: Option<PathBuf>,
    /// Print exactly one JSON value on stdout
    #[arg(long, global = true)]
    pub json: bool,
    /// Idempotency key for a write
    #[arg(long, global = true, value_name = "KEY")]
    pub key: Option<String>,
    /// Console: hide writes
    #[arg(long, global = true)]
    pub read_only: bool,
    /// The local store's cache, megabytes (default 64; 32 for the console and the demo, 256
    /// for `serve`; config core.cache_mb)
    #[arg(long = "cache-mb", global = true, value_name = "MB")]
    pub cache_mb: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub enum CommandLine {
    /// The console on demo data with live simulated traffic
    Demo(DemoArgs),
    /// Serve the core over HTTP
    Serve(ServeArgs),
    /// Members: join, withdraw, show, list
    #[command(subcommand)]
    Member(MemberCmd),
    /// Merchants: register with a name and earn rate
    #[command(subcommand)]
    Merchant(MerchantCmd),
    /// Deals: save, use, cancel, show, list
    #[command(subcommand)]
    Deal(DealCmd),
    /// A member's point balance
    Points {
        /// Member id (7 or 0007)
        #[arg(allow_negative_numbers = true)]
        member_id: String,
    },
    /// Merchant settlement
    #[command(subcommand)]
    Billing(BillingCmd),
    /// The event log
    Events(EventsArgs),
    /// Fill the store with generated members and deals
    Seed(SeedArgs),
    /// Write deals, members or billings as CSV or JSON
    Export(ExportArgs),
    /// Staff reports: liability roll-forward, activity, segments, dormant, anomalies
    Report(ReportArgs),
    /// Import deals from CSV (idempotent per row key)
    #[command(subcommand)]
    Import(ImportCmd),
    /// Writes queued for --remote (and its token): list, retry a refused one, or drop one
    #[command(subcommand)]
    Outbox(OutboxCmd),
    /// Audit the invariants; exit 1 on a violation
    Check,
    /// Copy the store to a new folder at one moment, then check the copy; exit 1 if it fails
    Backup {
        /// The folder to copy to (new, or empty; outside the store)
        dest: std::path::PathBuf,
    },
    /// Version, paths, store size and counts
    Info,
}

#[derive(Debug, Clone, Subcommand)]
pub enum OutboxCmd {
    /// Queued writes and those the server refused, with why
    List,
    /// Queue a refused write again (under a new key) and try to send it now
    Retry {
        /// The write's idempotency key, as `outbox list` shows it
        key: String,
    },
    /// Remove a write, queued or refused, without sending it
    Drop {
        /// The write's idempotency key, as `outbox list` shows it
        key: String,
    },
}

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Traffic rate in operations per second
    #[arg(long, default_value_t = 5.0)]
    pub rate: f64,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address and port to listen on (loopback only without --token-file)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8088")]
    pub listen: String,
    /// Lines `operator:TOKEN` / `viewer:TOKEN`
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// The URL clients reach the server at, for links (default: relative links)
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// Seconds a client has to send a request head (and to start its next one)
    #[arg(long, value_name = "SECS", default_value = "5")]
    pub header_timeout: String,
    /// Seconds a client has to send a request body
    #[arg(long, value_name = "SECS", default_value = "10")]
    pub body_timeout: String,
    /// Open connections served at once; more are answered 503
    #[arg(long, value_name = "N", default_value = "8192")]
    pub max_connections: String,
}

#[derive(Debug, Subcommand)]
pub enum MemberCmd {
    /// Join a member: the next id, status valid, balance 0
    Join {
        /// 1 to 100 characters, no control characters
        #[arg(long)]
        name: String,
        /// Digits, spaces, + and -, up to 20
        #[arg(long)]
        phone: Option<String>,
        /// Up to 200 characters, no control characters
        #[arg(long)]
        address: Option<String>,
    },
    /// Withdraw a member: status invalid, the balance is forfeited
    Withdraw {
        /// Member id (7 or 0007)
        #[arg(allow_negative_numbers = true)]
        id: String,
    },
    /// A member, balance, totals, top merchants and recent deals
    Show {
        /// Member id (7 or 0007)
        #[arg(allow_negative_numbers = true)]
        id: String,
    },
    /// Members in id order
    List {
        /// valid or invalid
        #[arg(long)]
        status: Option<String>,
        /// Part of the name, or a phone fragment
        #[arg(long)]
        query: Option<String>,
        /// 1 to 10000
        #[arg(long, default_value = "50", allow_negative_numbers = true)]
        limit: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum MerchantCmd {
    /// Register a merchant with a name and, optionally, its own earn rate
    Add {
        /// Merchant id, a whole number from 1
        #[arg(long, allow_negative_numbers = true)]
        id: String,
        /// 1 to 100 characters, no control characters
        #[arg(long)]
        name: String,
        /// Percent, e.g. 1.5
        #[arg(long, allow_negative_numbers = true)]
        earn_rate: Option<String>,
    },
    /// Merchants with deals or a registration
    List,
}

#[derive(Debug, Subcommand)]
pub enum DealCmd {
    /// Earn points: the merchant's earn rate (default 1%) of the amount
    Save {
        /// Member id (7 or 0007)
        #[arg(long, allow_negative_numbers = true)]
        member: String,
        /// Merchant id (unregistered merchants earn the default rate)
        #[arg(long, allow_negative_numbers = true)]
        merchant: String,
        /// Whole currency units, 1 to 10^12
        #[arg(long, allow_negative_numbers = true)]
        amount: String,
        /// RFC 3339, e.g. 2026-10-02T09:00:00Z (default now; at most 5 minutes ahead)
        #[arg(long)]
        date: Option<String>,
    },
    /// Pay with points; short of points, the deal is recorded as failed (exit 3)
    Use {
        /// Member id (7 or 0007)
        #[arg(long, allow_negative_numbers = true)]
        member: String,
        /// Merchant id (unregistered merchants earn the default rate)
        #[arg(long, allow_negative_numbers = true)]
        merchant: String,
        /// Greater than 0, at most two decimals
        #[arg(long, allow_negative_numbers = true)]
        points: String,
        /// Whole currency units paid, if known
        #[arg(long, allow_negative_numbers = true)]
        amount: Option<String>,
        /// RFC 3339 (default now)
        #[arg(long)]
        date: Option<String>,
    },
    /// Cancel a successful save or use (saveCancel or useCancel, from the original)
    Cancel {
        /// The deal to cancel
        #[arg(allow_negative_numbers = true)]
        deal_id: String,
        /// RFC 3339 (default now)
        #[arg(long)]
        date: Option<String>,
    },
    /// One deal
    Show {
        /// Deal id
        #[arg(allow_negative_numbers = true)]
        id: String,
    },
    /// Deals, newest first
    List {
        /// Only this member's deals (member id)
        #[arg(long, allow_negative_numbers = true)]
        member: Option<String>,
        /// Only this merchant's deals (merchant id)
        #[arg(long, allow_negative_numbers = true)]
        merchant: Option<String>,
        /// Only deals of this month, YYYYMM (in the business time zone)
        #[arg(long, allow_negative_numbers = true)]
        month: Option<String>,
        /// save, use, saveCancel or useCancel
        #[arg(long = "type")]
        deal_type: Option<String>,
        /// success or fail
        #[arg(long)]
        status: Option<String>,
        /// 1 to 10000
        #[arg(long, default_value = "50", allow_negative_numbers = true)]
        limit: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum BillingCmd {
    /// Settle a merchant's month (not in the future); re-running returns the same billing
    Run {
        /// Merchant id
        #[arg(long, allow_negative_numbers = true)]
        merchant: String,
        /// Month to settle, YYYYMM (not in the future)
        #[arg(long, allow_negative_numbers = true)]
        month: String,
    },
    /// What `billing run` would settle now, without writing
    Preview {
        /// Merchant id
        #[arg(long, allow_negative_numbers = true)]
        merchant: String,
        /// Month to settle, YYYYMM (not in the future)
        #[arg(long, allow_negative_numbers = true)]
        month: String,
    },
    /// Recorded billings
    List {
        /// Only this merchant's billings (merchant id)
        #[arg(long, allow_negative_numbers = true)]
        merchant: Option<String>,
        /// Only this month's billings, YYYYMM
        #[arg(long, allow_negative_numbers = true)]
        month: Option<String>,
    },
}

#[derive(Debug, Clone, Args)]
pub struct EventsArgs {
    /// Start after this offset (0: from the first event)
    #[arg(long, default_value = "0", allow_negative_numbers = true)]
    pub after: String,
    /// Events per page, 1 to 10000
    #[arg(long, default_value = "100", allow_negative_numbers = true)]
    pub limit: String,
    /// Keep printing new events as they come, one per line (NDJSON with --json)
    #[arg(long)]
    pub follow: bool,
}

#[derive(Debug, Clone, Args)]
#[command(after_help = SEED_HELP)]
pub struct SeedArgs {
    /// Members to join
    #[arg(long, allow_negative_numbers = true)]
    pub members: String,
    /// Deals to place
    #[arg(long, allow_negative_numbers = true)]
    pub deals: String,
    /// Merchant ids 1..=N to register and deal at
    #[arg(long, default_value = "50", allow_negative_numbers = true)]
    pub merchants: String,
    /// Months of history, ending now
    #[arg(long, default_value = "6", allow_negative_numbers = true)]
    pub months: String,
    /// Random seed: the same seed generates the same data (dates end at now)
    #[arg(long, default_value = "42", allow_negative_numbers = true)]
    pub seed: String,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ExportWhat {
    Deals,
    Members,
    Billings,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Json,
    Parquet,
}

#[derive(Debug, Clone, Args)]
#[command(after_help = EXPORT_HELP)]
pub struct ExportArgs {
    /// What to export: deals, members or billings
    pub what: ExportWhat,
    /// csv, json (an array) or parquet; the default is json with --json, else csv
    #[arg(long, value_enum)]
    pub format: Option<ExportFormat>,
    /// Write to FILE (replaced only once complete) instead of stdout
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ReportWhat {
    Liability,
    Activity,
    Segments,
    Dormant,
    Anomalies,
}

impl ReportWhat {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportWhat::Liability => "liability",
            ReportWhat::Activity => "activity",
            ReportWhat::Segments => "segments",
            ReportWhat::Dormant => "dormant",
            ReportWhat::Anomalies => "anomalies",
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ReportFormat {
    Table,
    Csv,
    Json,
}

#[derive(Debug, Clone, Args)]
#[command(after_help = REPORT_HELP)]
pub struct ReportArgs {
    /// Which report: liability, activity, segments, dormant or anomalies
    pub what: ReportWhat,
    /// Liability: only this month, YYYYMM, with its merchants
    #[arg(long)]
    pub month: Option<String>,
    /// First business day (YYYY-MM-DD) of activity or anomalies
    #[arg(long)]
    pub from: Option<String>,
    /// Last business day (YYYY-MM-DD), default today
    #[arg(long)]
    pub to: Option<String>,
    /// Activity: day, week (ISO, Monday first) or month
    #[arg(long)]
    pub grain: Option<String>,
    /// Segments and dormant: dormant after this many days without a deal (default 90)
    #[arg(long)]
    pub days: Option<String>,
    /// Dormant and anomalies: rows listed at most (default 50, at most 1000)
    #[arg(long)]
    pub limit: Option<String>,
    /// Anomalies: a member with at least this many cancels (default 3)
    #[arg(long = "min-cancels")]
    pub min_cancels: Option<String>,
    /// Anomalies: a member with at least this many failed uses or cancels (default 3)
    #[arg(long = "min-failed")]
    pub min_failed: Option<String>,
    /// Anomalies: a merchant whose clawbacks reach this percent of its redeemed points (default 10)
    #[arg(long)]
    pub clawback: Option<String>,
    /// table (default), csv (the main table) or json (everything; the default with --json)
    #[arg(long, value_enum)]
    pub format: Option<ReportFormat>,
}

const REPORT_HELP: &str = "\
Every report reads counters the write path keeps (per day, month, merchant and member),
never the deals, so each answers in milliseconds at any size; segments and dormant read
one small record per member, cached until the data changes. Months and days are the
store's business zone.
  liability  opening + issued - redeemed - saveCancelled + useCancelled - forfeited =
             closing, per month, exact to the hundredth; each closing is the next
             opening and the last equals the sum of every balance (`check` verifies it);
             settlements (billed, commission) and clawbacks beside it; merchants of the
             latest (or --month) month.
  activity   deals by type, failed-use rate, points earned and used, distinct active
             members, new members and withdrawals per day, week or month (default the
             last 30 days, 12 weeks or 12 months).
  segments   champions, loyal, active, new, at risk, dormant: counts and points held.
  dormant    members with points and no deal for --days, the largest holders first.
  anomalies  members with many cancels or failed uses in the window (default the last
             7 days), merchants whose clawbacks are high against their redeemed points,
             each with the deals behind it.";

#[derive(Debug, Subcommand)]
pub enum ImportCmd {
    /// Replay a deal CSV (as `export deals` writes it), exactly once per row key
    #[command(after_help = IMPORT_HELP)]
    Deals {
        /// The CSV file to read
        file: PathBuf,
    },
}

const SEED_HELP: &str = "\
Adds to what the store holds: merchants 1..=M are registered with names (at the
default earn rate), N members join (Korean and English names), then N deals are
placed, spread over the last N months: 70% save, 25% use (some short of points, so
recorded as failed), 5% cancel. Writes go through the port in batches of 2000, one
group commit (one fsync) each. A progress bar shows on stderr only on a terminal.";

const EXPORT_HELP: &str = "\
Pages through the store; nothing is loaded whole. Deals are written oldest first with
every field:
  id,key,type,status,reason,billingStatus,billingId,originalDealId,originalKey,
  cancelledBy,memberId,memberName,merchantId,merchantName,dealAmount,point,balance,dealDate
and `onepoint import deals` reads the file back (it takes the columns it needs).
Members carry the balance (`point`), running totals (earned, used, saveCancelled,
useCancelled, forfeited, deals, failed, frequency, spend) and their segment. Points
are exact hundredths (Parquet: DECIMAL(18,2)); dates are RFC 3339 in UTC (Parquet:
TIMESTAMP(MILLIS, UTC)). Parquet is written a row group of 65,536 rows at a time, so
memory stays bounded. With --output the file appears only once the export is complete.";

const IMPORT_HELP: &str = "\
Reads the columns key,type,memberId,merchantId,dealAmount,point,dealDate,originalKey
by name (`export deals` writes them among others, which are ignored). Each row is checked by the same rules as
`deal save|use|cancel` and applied with its `key` as the idempotency key, so re-running
an import, also after a crash part-way, applies each row exactly once: rows already
applied come back as replays and change nothing.

The whole file is checked before anything is written: every malformed row, every
cancel whose `originalKey` names no earlier row, and every member id beyond the store's
highest plus the rows in the file is reported as `error: row N: field rule` (exit 2),
and nothing is imported.

Deals need members: a row for a member id beyond the highest existing one first joins
placeholder members named `member N` (key `import-member-N`) up to that id (never more
than the file has rows). Ids are
sequential and never reused, so an export imports into an empty store and rebuilds it
with the same ids. Saves earn at the target store's rates: register merchants with
their earn rates first (`merchant add`); rows whose points differ are counted.

Refused rows are listed and counted (exit 3); a use recorded as failed, as in the
source, is counted as failed. A progress bar shows on stderr only on a terminal.";

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every argument of every subcommand, with its help text.
    fn walk(cmd: &clap::Command, path: &str, out: &mut Vec<(String, String)>) {
        for a in cmd.get_arguments() {
            let id = a.get_id().as_str();
            if id == "help" || id == "version" {
                continue;
            }
            let help = a.get_help().map(|h| h.to_string()).unwrap_or_default();
            out.push((format!("{path} {id}"), help));
        }
        for sub in cmd.get_subcommands() {
            if sub.get_name() != "help" {
                walk(sub, &format!("{path} {}", sub.get_name()), out);
            }
        }
    }

    fn all_arguments() -> Vec<(String, String)> {
        let mut out = Vec::new();
        walk(&Cli::command(), "onepoint", &mut out);
        out
    }

    #[test]
    fn every_option_and_argument_has_a_help_line() {
        let args = all_arguments();
        assert!(args.len() > 60, "found only {} arguments", args.len());
        let missing: Vec<&String> = args
            .iter()
            .filter(|(_, help)| help.trim().is_empty())
            .map(|(name, _)| name)
            .collect();
        assert!(missing.is_empty(), "no help line: {missing:#?}");
    }

    #[test]
    fn every_month_says_yyyymm() {
        let months: Vec<(String, String)> = all_arguments()
            .into_iter()
            .filter(|(name, _)| name.ends_with(" month"))
            .collect();
        assert!(months.len() >= 5, "{months:?}");
        for (name, help) in months {
            assert!(help.contains("YYYYMM"), "{name}: {help:?}");
        }
    }
}
