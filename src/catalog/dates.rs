//! Dates of the catalog: the layers' UTC stamps shown as CKAN, xsd and human (JST) times.

use super::*;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{self, TimeZone};

/// A layer's UTC stamp (`YYYY-MM-DDTHH:MM:SS`, with or without `Z`, or a date alone) as a
/// civil date and time in UTC; None when it is no valid date.
pub(crate) fn parse_stamp(iso: &str) -> Option<DateTime> {
    let date: Date = iso.get(..10)?.parse().ok()?;
    let time = match iso.get(10..) {
        None | Some("") | Some("Z") => Time::midnight(),
        Some(rest) => rest.strip_prefix('T')?.get(..8)?.parse::<Time>().ok()?,
    };
    Some(date.to_datetime(time))
}

/// Japan Standard Time: UTC+9 all year.
fn jst() -> TimeZone {
    TimeZone::fixed(tz::offset(9))
}

/// The timestamp shifted to Japan Standard Time.
fn to_jst(t: DateTime) -> Option<DateTime> {
    Some(
        t.to_zoned(TimeZone::UTC)
            .ok()?
            .with_time_zone(jst())
            .datetime(),
    )
}

/// CKAN's timestamp form: ISO 8601 in UTC without a zone (`2025-04-01T09:30:00`).
pub fn ckan_time(iso: &str) -> String {
    match parse_stamp(iso) {
        Some(t) => t.strftime("%Y-%m-%dT%H:%M:%S").to_string(),
        None => iso.trim_end_matches('Z').to_string(),
    }
}

/// xsd:dateTime in UTC (`2025-04-01T09:30:00Z`).
pub fn xsd_time(iso: &str) -> String {
    format!("{}Z", ckan_time(iso))
}

/// A timestamp for people, in Japan Standard Time.
pub fn human_time(iso: &str, lang: Lang) -> String {
    let Some(t) = parse_stamp(iso).and_then(to_jst) else {
        return iso.to_string();
    };
    match lang {
        Lang::Ja => format!(
            "{}年{}月{}日 {:02}:{:02}",
            t.year(),
            t.month(),
            t.day(),
            t.hour(),
            t.minute()
        ),
        Lang::En => t.strftime("%Y-%m-%d %H:%M JST").to_string(),
    }
}

/// Now, UTC, `YYYY-MM-DDTHH:MM:SS`.
pub(crate) fn now_utc() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S")
        .to_string()
}

/// Shift a `YYYY-MM-DDTHH:MM:SS` timestamp by whole days.
pub(crate) fn minus_days(t: &str, days: i64) -> Option<String> {
    let s = parse_stamp(t)?
        .checked_sub(jiff::Span::new().try_days(days).ok()?)
        .ok()?;
    Some(s.strftime("%Y-%m-%dT%H:%M:%S").to_string())
}
