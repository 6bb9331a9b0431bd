//! A report as plain tables (header and text cells), the one flattening the CLI's table and
//! CSV output and the console's Insights tab share.

use super::Report;

/// One table of a report. `numeric` columns align right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub title: String,
    pub columns: Vec<(&'static str, bool)>,
    pub rows: Vec<Vec<String>>,
}

fn bp(v: u32) -> String {
    format!("{}.{:02}%", v / 100, v % 100)
}

fn ids<T: std::fmt::Display>(v: &[T]) -> String {
    v.iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

impl Report {
    /// The report's tables, the main one first.
    pub fn tables(&self) -> Vec<Table> {
        match self {
            Report::Liability(l) => {
                let mut out = vec![Table {
                    title: format!(
                        "Liability roll-forward (outstanding {}{})",
                        l.outstanding,
                        if l.reconciled {
                            ", reconciled"
                        } else {
                            ", NOT reconciled"
                        }
                    ),
                    columns: vec![
                        ("month", false),
                        ("opening", true),
                        ("issued", true),
                        ("redeemed", true),
                        ("saveCancelled", true),
                        ("useCancelled", true),
                        ("forfeited", true),
                        ("closing", true),
                        ("billedNet", true),
                        ("billed", true),
                        ("commission", true),
                        ("clawbacks", true),
                    ],
                    rows: l
                        .months
                        .iter()
                        .map(|r| {
                            vec![
                                r.month.to_string(),
                                r.opening.to_string(),
                                r.issued.to_string(),
                                r.redeemed.to_string(),
                                r.save_cancelled.to_string(),
                                r.use_cancelled.to_string(),
                                r.forfeited.to_string(),
                                r.closing.to_string(),
                                r.billed_net.to_string(),
                                r.billed.to_string(),
                                r.commission.to_string(),
                                r.clawbacks.to_string(),
                            ]
                        })
                        .collect(),
                }];
                if let Some(m) = l.merchant_month {
                    out.push(Table {
                        title: format!("Merchants in {m}"),
                        columns: vec![
                            ("merchantId", true),
                            ("name", false),
                            ("issued", true),
                            ("redeemed", true),
                            ("saveCancelled", true),
                            ("useCancelled", true),
                            ("clawbacks", true),
                            ("billed", true),
                        ],
                        rows: l
                            .merchants
                            .iter()
                            .map(|m| {
                                vec![
                                    m.merchant_id.to_string(),
                                    m.name.clone().unwrap_or_default(),
                                    m.issued.to_string(),
                                    m.redeemed.to_string(),
                                    m.save_cancelled.to_string(),
                                    m.use_cancelled.to_string(),
                                    m.clawbacks.to_string(),
                                    m.billed.to_string(),
                                ]
                            })
                            .collect(),
                    });
                }
                out
            }
            Report::Activity(a) => vec![Table {
                title: format!("Activity by {}", a.grain.as_str()),
                columns: vec![
                    ("period", false),
                    ("saves", true),
                    ("uses", true),
                    ("failedUses", true),
                    ("failedUseRate", true),
                    ("saveCancels", true),
                    ("useCancels", true),
                    ("earned", true),
                    ("used", true),
                    ("activeMembers", true),
                    ("newMembers", true),
                    ("withdrawals", true),
                ],
                rows: a
                    .rows
                    .iter()
                    .map(|r| {
                        vec![
                            r.period.clone(),
                            r.saves.to_string(),
                            r.uses.to_string(),
                            r.failed_uses.to_string(),
                            bp(r.failed_use_rate_bp),
                            r.save_cancels.to_string(),
                            r.use_cancels.to_string(),
                            r.earned.to_string(),
                            r.used.to_string(),
                            r.active_members.to_string(),
                            r.new_members.to_string(),
                            r.withdrawals.to_string(),
                        ]
                    })
                    .collect(),
            }],
            Report::Segments(s) => vec![Table {
                title: format!(
                    "Segments (dormant after {} days; high frequency >= {}, high spend >= {})",
                    s.dormant_days, s.high_frequency, s.high_spend
                ),
                columns: vec![
                    ("segment", false),
                    ("members", true),
                    ("points", true),
                    ("rule", false),
                ],
                rows: s
                    .rows
                    .iter()
                    .map(|r| {
                        vec![
                            r.segment.clone(),
                            r.members.to_string(),
                            r.points.to_string(),
                            r.rule.clone(),
                        ]
                    })
                    .collect(),
            }],
            Report::Dormant(d) => vec![Table {
                title: format!(
                    "Dormant members holding points (no deal for {} days): {} holding {}",
                    d.days, d.total_members, d.total_points
                ),
                columns: vec![
                    ("memberId", true),
                    ("name", false),
                    ("points", true),
                    ("lastDeal", false),
                    ("idleDays", true),
                ],
                rows: d
                    .members
                    .iter()
                    .map(|m| {
                        vec![
                            m.member_id.to_string(),
                            m.name.clone(),
                            m.points.to_string(),
                            m.last_deal
                                .map(crate::domain::calendar::format_rfc3339)
                                .unwrap_or_default(),
                            m.idle_days.to_string(),
                        ]
                    })
                    .collect(),
            }],
            Report::Anomalies(a) => vec![
                Table {
                    title: format!(
                        "Members {}..{} with >= {} cancels or >= {} failed uses/cancels",
                        a.from, a.to, a.min_cancels, a.min_failed
                    ),
                    columns: vec![
                        ("memberId", true),
                        ("name", false),
                        ("cancels", true),
                        ("failedUses", true),
                        ("failedCancels", true),
                        ("deals", false),
                    ],
                    rows: a
                        .members
                        .iter()
                        .map(|m| {
                            vec![
                                m.member_id.to_string(),
                                m.name.clone(),
                                m.cancels.to_string(),
                                m.failed_uses.to_string(),
                                m.failed_cancels.to_string(),
                                ids(&m.deals),
                            ]
                        })
                        .collect(),
                },
                Table {
                    title: format!(
                        "Merchants whose clawbacks reach {} of their redeemed points",
                        bp(a.clawback_bp)
                    ),
                    columns: vec![
                        ("merchantId", true),
                        ("name", false),
                        ("uses", true),
                        ("redeemed", true),
                        ("clawbacks", true),
                        ("clawbackCount", true),
                        ("ratio", true),
                        ("deals", false),
                    ],
                    rows: a
                        .merchants
                        .iter()
                        .map(|m| {
                            vec![
                                m.merchant_id.to_string(),
                                m.name.clone().unwrap_or_default(),
                                m.uses.to_string(),
                                m.redeemed.to_string(),
                                m.clawbacks.to_string(),
                                m.clawback_count.to_string(),
                                bp(m.ratio_bp),
                                ids(&m.deals),
                            ]
                        })
                        .collect(),
                },
            ],
        }
    }
}
