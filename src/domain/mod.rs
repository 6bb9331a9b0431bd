//! The OnePoint business core: members, point accounts, deals, settlement, the dashboard
//! read model and the event log, on a sled store. Synchronous and deterministic; it knows
//! nothing of terminals, async runtimes or HTTP. `store.rs` and `store_open.rs` are the only
//! files that name sled.

pub mod billing;
pub mod calendar;
mod check;
pub mod core;
pub mod dashboard;
mod deal_dates;
pub mod error;
pub mod event;
pub mod ids;
mod index_walk;
pub mod ledger;
pub mod memory;
mod migrate;
pub mod model;
pub mod money;
pub mod names;
mod packed_set;
mod pipeline;
pub mod query;
mod reads;
pub mod reports;
pub mod request;
pub mod schema;
pub mod sort_index;
pub mod store;
pub mod tx;
mod upkeep;
pub mod wal;
pub mod window;
mod write_set;

pub use calendar::{Clock, Millis, Month};
pub use check::KeyDigest;
pub use error::{Error, ErrorKind, FieldError, FieldErrors, Refusal, Result};
pub use event::{DealEvent, Event, EventBody};
pub use ids::{BillingId, DealId, MemberId, MerchantId};
pub use model::{
    Account, Billing, BillingPreview, BillingStatus, CoreSettings, DashboardRow, Deal, DealStatus,
    DealType, Member, MemberRecord, MemberStats, MemberStatus, MemberView, Merchant,
    MerchantSummary, Rates, Withdrawal,
};
pub use money::{Amount, BasisPoints, Points};
pub use query::{
    Balance, BalanceQuery, BillingQuery, CheckReport, DealQuery, Info, MemberDetail, MemberQuery,
    MemberSort, MerchantShare, Outcome, PointsSummary, SourceInfo,
};
pub use request::{
    BillingRequest, CancelKind, Command, DealDraft, DealRequest, IdemKey, Keyed, MemberDraft,
    MerchantDraft, NewMember, NewMerchant,
};
pub use window::{
    Anchor, DealOrder, DealWindow, MemberKey, MemberOrder, MemberWindow, MerchantPreview, Window,
};
