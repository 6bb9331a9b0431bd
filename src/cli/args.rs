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
    /// Print exactly one JSON value on stdout
    #[arg(long, global = true)]
    pub json: bool,
    /// Idempotency key for a write
    #[arg(long, global = true, value_name = "KEY")]
    pub key: Option<String>,
    /// Console: hide writes
    #[arg(long, global = true)]
    pub read_only: bool,
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
    /// Import deals from CSV (idempotent per row key)
    #[command(subcommand)]
    Import(ImportCmd),
    /// Audit the invariants; exit 1 on a violation
    Check,
    /// Version, paths, store size and counts
    Info,
}

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Traffic rate in operations per second
    #[arg(long, default_value_t = 5.0)]
    pub rate: f64,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[arg(long, default_value = "127.0.0.1:8088")]
    pub listen: String,
    /// Lines `operator:TOKEN` / `viewer:TOKEN`
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum MemberCmd {
    Join {
        #[arg(long)]
        name: String,
        #[arg(long)]
        phone: Option<String>,
        #[arg(long)]
        address: Option<String>,
    },
    Withdraw {
        #[arg(allow_negative_numbers = true)]
        id: String,
    },
    Show {
        #[arg(allow_negative_numbers = true)]
        id: String,
    },
    List {
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        query: Option<String>,
        #[arg(long, default_value = "50", allow_negative_numbers = true)]
        limit: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum MerchantCmd {
    Add {
        #[arg(long, allow_negative_numbers = true)]
        id: String,
        #[arg(long)]
        name: String,
        /// Percent, e.g. 1.5
        #[arg(long, allow_negative_numbers = true)]
        earn_rate: Option<String>,
    },
    List,
}

#[derive(Debug, Subcommand)]
pub enum DealCmd {
    Save {
        #[arg(long, allow_negative_numbers = true)]
        member: String,
        #[arg(long, allow_negative_numbers = true)]
        merchant: String,
        #[arg(long, allow_negative_numbers = true)]
        amount: String,
        #[arg(long)]
        date: Option<String>,
    },
    Use {
        #[arg(long, allow_negative_numbers = true)]
        member: String,
        #[arg(long, allow_negative_numbers = true)]
        merchant: String,
        #[arg(long, allow_negative_numbers = true)]
        points: String,
        #[arg(long, allow_negative_numbers = true)]
        amount: Option<String>,
        #[arg(long)]
        date: Option<String>,
    },
    Cancel {
        #[arg(allow_negative_numbers = true)]
        deal_id: String,
        #[arg(long)]
        date: Option<String>,
    },
    Show {
        #[arg(allow_negative_numbers = true)]
        id: String,
    },
    List {
        #[arg(long, allow_negative_numbers = true)]
        member: Option<String>,
        #[arg(long, allow_negative_numbers = true)]
        merchant: Option<String>,
        #[arg(long, allow_negative_numbers = true)]
        month: Option<String>,
        #[arg(long = "type")]
        deal_type: Option<String>,
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value = "50", allow_negative_numbers = true)]
        limit: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum BillingCmd {
    Run {
        #[arg(long, allow_negative_numbers = true)]
        merchant: String,
        #[arg(long, allow_negative_numbers = true)]
        month: String,
    },
    Preview {
        #[arg(long, allow_negative_numbers = true)]
        merchant: String,
        #[arg(long, allow_negative_numbers = true)]
        month: String,
    },
    List {
        #[arg(long, allow_negative_numbers = true)]
        merchant: Option<String>,
        #[arg(long, allow_negative_numbers = true)]
        month: Option<String>,
    },
}

#[derive(Debug, Clone, Args)]
pub struct EventsArgs {
    #[arg(long, default_value = "0", allow_negative_numbers = true)]
    pub after: String,
    #[arg(long, default_value = "100", allow_negative_numbers = true)]
    pub limit: String,
    /// Keep printing new events as they come
    #[arg(long)]
    pub follow: bool,
}

#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Adds to what the store holds: merchants 1..=M are registered with \
names, then N members join, then N deals (70% save, 25% use, 5% cancel; some uses fail \
short of points) are spread over the last N months. Writes go in batches of 2000, one \
group commit each. A progress bar shows on stderr only when it is a terminal."
)]
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
}

#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Deals are written oldest first. `export deals --format csv` writes \
the columns key,type,memberId,merchantId,dealAmount,point,dealDate,originalKey that \
`onepoint import deals` reads back."
)]
pub struct ExportArgs {
    pub what: ExportWhat,
    /// csv, or json (an array); the default is json with --json, else csv
    #[arg(long, value_enum)]
    pub format: Option<ExportFormat>,
    /// Write to FILE (replaced only once complete) instead of stdout
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ImportCmd {
    /// Replay a deal CSV (as `export deals` writes it), exactly once per row key
    #[command(
        after_help = "Columns: key,type,memberId,merchantId,dealAmount,point,dealDate,\
originalKey. Each row is checked with the same rules as `deal save|use|cancel` and applied \
with its `key` as the idempotency key, so re-running an import, also after a crash part-way, \
applies each row exactly once (replays are counted, not applied). The whole file is checked \
before anything is written: a malformed row is reported as `error: row N: field rule` (exit \
2) and nothing is imported. A cancel names its original by `originalKey`, the key of an \
earlier row; if no earlier row has it, the import stops there (exit 2): the rows before stay \
applied and re-running is safe. A row for a member id beyond the highest existing one first joins \
placeholder members named `member N` (key `import-member-N`) up to that id: ids are \
sequential and never reused, so an export imports into an empty store and rebuilds it with \
the same ids. Refused rows are listed and counted (exit 3); a deal recorded as failed, as in \
the source, is counted as failed. A progress bar shows on stderr only on a terminal."
    )]
    Deals { file: PathBuf },
}
