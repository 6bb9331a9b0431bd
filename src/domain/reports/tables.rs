//! A report as plain tables (header and text cells), the one flattening the CLI's table and
//! CSV output and the console's Insights tab share.

use super::Report;

/// One table of a report: each column's name and what its cells hold. Cells are plain text
/// (`1234.5` for points, no separators), as CSV wants them; a view for people formats them
/// by kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub title: String,
    pub columns: Vec<(&'static str, Kind)>,
    pub rows: Vec<Vec<String>>,
}

/// What a column's cells hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    /// A member or merchant id: a number, but never grouped.
    Id,
    /// A count of deals, members, days.
    Count,
    /// Points in hundredths' decimal form (`Points`'s display: `1234.5`, `-3`).
    Points,
    /// A rate already written as `12.34%`.
    Percent,
}

impl Kind {
    /// Numbers align right.
    pub fn numeric(self) -> bool {
        self != Kind::Text
    }

    /// A plain cell of this kind as people read it: points with separators and two decimals
    /// (`1307082.5` -> `1,307,082.50`), counts grouped; ids, rates and text as they are. A
    /// cell that is not the number its kind says stays as it is.
    pub fn for_people(self, text: &str) -> String {
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        match self {
            Kind::Count if all_digits(text) => text
                .parse()
                .map(group_digits)
                .unwrap_or_else(|_| text.into()),
            Kind::Points => {
                let (sign, unsigned) = match text.strip_prefix('-') {
                    Some(rest) => ("-", rest),
                    None => ("", text),
                };
                let (whole, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
                if !all_digits(whole) || frac.len() > 2 || !(frac.is_empty() || all_digits(frac)) {
                    return text.to_string();
                }
                match whole.parse::<u64>() {
                    Ok(w) => format!("{sign}{}.{frac:0<2}", group_digits(w)),
                    Err(_) => text.to_string(),
                }
            }
            _ => text.to_string(),
        }
    }
}

/// `1234567` -> `1,234,567`.
fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Points in a title, for people: `2,327,096.67` (cells stay plain for CSV).
fn grouped(p: crate::domain::Points) -> String {
    let h = p.hundredths();
    let sign = if h < 0 { "-" } else { "" };
    format!(
        "{sign}{}.{:02}",
        group_digits(h.unsigned_abs() / 100),
        h.unsigned_abs() % 100
    )
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
    /// The report's tables, the main one first; what the source could not give last.
    pub fn tables(&self) -> Vec<Table> {
        let mut out = self.report_tables();
        if !self.gaps().is_empty() {
            out.push(Table {
                title: "Not from the source (or only inferred)".into(),
                columns: vec![("field", Kind::Text), ("why", Kind::Text)],
                rows: self
                    .gaps()
                    .iter()
                    .map(|g| vec![g.field.clone(), g.why.clone()])
                    .collect(),
            });
        }
        out
    }

    fn report_tables(&self) -> Vec<Table> {
        match self {
            Report::Liability(l) => {
                let mut out = vec![Table {
                    title: format!(
                        "Liability roll-forward (outstanding {}{})",
                        grouped(l.outstanding),
                        if l.reconciled {
                            ", reconciled"
                        } else {
                            ", NOT reconciled"
                        }
                    ),
                    columns: vec![
                        ("month", Kind::Text),
                        ("opening", Kind::Points),
                        ("issued", Kind::Points),
                        ("redeemed", Kind::Points),
                        ("saveCancelled", Kind::Points),
                        ("useCancelled", Kind::Points),
                        ("forfeited", Kind::Points),
                        ("closing", Kind::Points),
                        ("billedNet", Kind::Points),
                        ("billed", Kind::Points),
                        ("commission", Kind::Points),
                        ("clawbacks", Kind::Points),
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
                            ("merchantId", Kind::Id),
                            ("name", Kind::Text),
                            ("issued", Kind::Points),
                            ("redeemed", Kind::Points),
                            ("saveCancelled", Kind::Points),
                            ("useCancelled", Kind::Points),
                            ("clawbacks", Kind::Points),
                            ("billed", Kind::Points),
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
                    ("period", Kind::Text),
                    ("saves", Kind::Count),
                    ("uses", Kind::Count),
                    ("failedUses", Kind::Count),
                    ("failedUseRate", Kind::Percent),
                    ("saveCancels", Kind::Count),
                    ("useCancels", Kind::Count),
                    ("earned", Kind::Points),
                    ("used", Kind::Points),
                    ("activeMembers", Kind::Count),
                    ("newMembers", Kind::Count),
                    ("withdrawals", Kind::Count),
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
                    ("segment", Kind::Text),
                    ("members", Kind::Count),
                    ("points", Kind::Points),
                    ("rule", Kind::Text),
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
                    d.days,
                    d.total_members,
                    grouped(d.total_points)
                ),
                columns: vec![
                    ("memberId", Kind::Id),
                    ("name", Kind::Text),
                    ("points", Kind::Points),
                    ("lastDeal", Kind::Text),
                    ("idleDays", Kind::Count),
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
                        ("memberId", Kind::Id),
                        ("name", Kind::Text),
                        ("cancels", Kind::Count),
                        ("failedUses", Kind::Count),
                        ("failedCancels", Kind::Count),
                        ("deals", Kind::Text),
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
                        ("merchantId", Kind::Id),
                        ("name", Kind::Text),
                        ("uses", Kind::Count),
                        ("redeemed", Kind::Points),
                        ("clawbacks", Kind::Points),
                        ("clawbackCount", Kind::Count),
                        ("ratio", Kind::Percent),
                        ("deals", Kind::Text),
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

#[cfg(test)]
mod tests {
    use super::Kind;

    #[test]
    fn report_cells_read_for_people_by_their_column_kind() {
        assert_eq!(Kind::Points.for_people("1307082.58"), "1,307,082.58");
        assert_eq!(Kind::Points.for_people("721790.9"), "721,790.90");
        assert_eq!(Kind::Points.for_people("15279"), "15,279.00");
        assert_eq!(Kind::Points.for_people("-3"), "-3.00");
        assert_eq!(Kind::Count.for_people("452"), "452");
        assert_eq!(Kind::Count.for_people("12345"), "12,345");
        assert_eq!(Kind::Id.for_people("12345"), "12345");
        assert_eq!(Kind::Percent.for_people("14.28%"), "14.28%");
        assert_eq!(Kind::Text.for_people("2026-11-01"), "2026-11-01");
        assert_eq!(Kind::Points.for_people("n/a"), "n/a");
    }
}
