//! The order of the on-screen tables that the server pages (the period summary and the daily
//! detail): an allow-listed column, `-` before it for descending; rows equal in it keep the
//! name order (last name, first name, then date).

use faceid_protocol::reports::{ReportSort, SortKey};
use std::cmp::Ordering;

/// A row's value in a column: a text (absent ones last) or a number.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum SortValue {
    Num(i64),
    Text(Option<String>),
}

/// Sorts `rows` (given in the name order) by `sort` with `value`, stable, so equal rows keep
/// the name order; a descending order reverses the column only. Absent texts stay last.
pub fn sort_rows<R>(rows: &mut [R], sort: ReportSort, value: impl Fn(&R, SortKey) -> SortValue) {
    let (key, desc) = sort.key();
    rows.sort_by(|a, b| {
        let (va, vb) = (value(a, key), value(b, key));
        match (&va, &vb) {
            (SortValue::Text(None), SortValue::Text(Some(_))) => Ordering::Greater,
            (SortValue::Text(Some(_)), SortValue::Text(None)) => Ordering::Less,
            _ if desc => vb.cmp(&va),
            _ => va.cmp(&vb),
        }
    });
}

/// The rows of one page (`(limit, offset)`) of `rows`.
pub fn page<R>(rows: Vec<R>, (limit, offset): (u32, u32)) -> Vec<R> {
    rows.into_iter()
        .skip(offset as usize)
        .take(limit as usize)
        .collect()
}
