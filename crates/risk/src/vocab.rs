//! The hazard vocabulary the risk answer reads and `machimap::kinds::hazard` writes: scenario
//! names, zone families and the KSJ depth ranks. One copy, here, so the in-browser answer and
//! the ingest agree on every word.

/// 想定最大規模 (L2).
pub const SCENARIO_MAX: &str = "想定最大規模";
/// 計画規模 (L1).
pub const SCENARIO_PLAN: &str = "計画規模";

/// `family` of a depth zone (A31a 10/20 and every banded hazard).
pub const FAMILY_DEPTH: &str = "depth";
/// `family` of a 浸水継続時間 zone (A31a 30).
pub const FAMILY_DURATION: &str = "duration";
/// `family` of a 家屋倒壊等氾濫想定区域 (A31a 41/42).
pub const FAMILY_COLLAPSE: &str = "collapse";

/// KSJ water_depth_code 1–6 → depth range in metres (upper bound exclusive, None = open).
pub fn depth_range(rank: i64) -> Option<(f64, Option<f64>)> {
    Some(match rank {
        1 => (0.0, Some(0.5)),
        2 => (0.5, Some(3.0)),
        3 => (3.0, Some(5.0)),
        4 => (5.0, Some(10.0)),
        5 => (10.0, Some(20.0)),
        6 => (20.0, None),
        _ => return None,
    })
}
