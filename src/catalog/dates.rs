//! Dates of the catalog: the layers' UTC stamps shown as CKAN, xsd and human (JST) times.

use super::*;

// ---------------------------------------------------------------------------------------------
// Dates (UTC `YYYY-MM-DDTHH:MM:SSZ` in the layers; no date crate)
// ---------------------------------------------------------------------------------------------

/// A parsed UTC timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    y: i64,
    mo: u32,
    d: u32,
    h: u32,
    mi: u32,
    s: u32,
}

pub(crate) fn parse_stamp(iso: &str) -> Option<Stamp> {
    let b = iso.as_bytes();
    let num = |r: std::ops::Range<usize>| iso.get(r).and_then(|t| t.parse::<u32>().ok());
    if b.len() < 10 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let (h, mi, s) = if b.len() >= 19 {
        (num(11..13)?, num(14..16)?, num(17..19)?)
    } else {
        (0, 0, 0)
    };
    Some(Stamp {
        y: i64::from(num(0..4)?),
        mo: num(5..7)?,
        d: num(8..10)?,
        h,
        mi,
        s,
    })
}

/// Days since 1970-01-01 of a civil date (H. Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Civil date of days since 1970-01-01.
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// The timestamp shifted to Japan Standard Time (UTC+9).
fn to_jst(t: Stamp) -> Stamp {
    let secs = days_from_civil(t.y, t.mo, t.d) * 86_400
        + i64::from(t.h) * 3600
        + i64::from(t.mi) * 60
        + i64::from(t.s)
        + 9 * 3600;
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let r = secs.rem_euclid(86_400);
    Stamp {
        y,
        mo,
        d,
        h: (r / 3600) as u32,
        mi: (r % 3600 / 60) as u32,
        s: (r % 60) as u32,
    }
}

/// CKAN's timestamp form: ISO 8601 in UTC without a zone (`2025-04-01T09:30:00`).
pub fn ckan_time(iso: &str) -> String {
    match parse_stamp(iso) {
        Some(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            t.y, t.mo, t.d, t.h, t.mi, t.s
        ),
        None => iso.trim_end_matches('Z').to_string(),
    }
}

/// xsd:dateTime in UTC (`2025-04-01T09:30:00Z`).
pub fn xsd_time(iso: &str) -> String {
    format!("{}Z", ckan_time(iso))
}

/// A timestamp for people, in Japan Standard Time.
pub fn human_time(iso: &str, lang: Lang) -> String {
    let Some(t) = parse_stamp(iso).map(to_jst) else {
        return iso.to_string();
    };
    match lang {
        Lang::Ja => format!("{}年{}月{}日 {:02}:{:02}", t.y, t.mo, t.d, t.h, t.mi),
        Lang::En => format!(
            "{:04}-{:02}-{:02} {:02}:{:02} JST",
            t.y, t.mo, t.d, t.h, t.mi
        ),
    }
}

/// Now, UTC, `YYYY-MM-DDTHH:MM:SS`.
pub(crate) fn now_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let r = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        r / 3600,
        r % 3600 / 60,
        r % 60
    )
}

/// Shift a `YYYY-MM-DDTHH:MM:SS` timestamp by whole days.
pub(crate) fn minus_days(t: &str, days: i64) -> Option<String> {
    let s = parse_stamp(t)?;
    let (y, m, d) = civil_from_days(days_from_civil(s.y, s.mo, s.d) - days);
    Some(format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        s.h, s.mi, s.s
    ))
}
