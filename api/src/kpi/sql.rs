//! SQL fragments only the KPI queries use. The builder is [`crate::db::sql::Sql`]; the
//! expressions the two engines spell differently are in [`crate::db::dialect`].

/// The `q = a / b` quantile (linearly interpolated, as [`crate::handover::reports::quantile`])
/// of `num` over a CTE with `rn` (1-based row number in order of `num`) and `n` (rows
/// in the partition): an aggregate expression for a `GROUP BY` over the partition.
pub fn quantile(a: u32, b: u32) -> String {
    let low = format!("({a} * (n - 1)) / {b}");
    let low_value = format!("MAX(CASE WHEN rn - 1 = {low} THEN num END)");
    let high_value = format!("COALESCE(MAX(CASE WHEN rn - 1 = {low} + 1 THEN num END), {low_value})");
    let fraction = format!("MAX(({a} * (n - 1) - {b} * ({low})) * 1.0 / {b})");
    format!("CAST({low_value} + ({high_value} - {low_value}) * {fraction} AS DOUBLE PRECISION)")
}
