//! Column mappings: what a clerk says once about a layout machimap does not recognise ("this
//! column is 名称, these two are 緯度/経度, this one is the 津波 flag, 可 means yes").
//!
//! A mapping is keyed by the file's header set ([`header_key`]: the sorted, NFKC-normalised
//! header names), saved with the dataset when a version made with it is stored, and applied
//! again to the next upload whose header set is the same, so a monthly refresh needs no clerk
//! action. It only adds cells under the standard names (the record's own cells stay, and stay
//! what `raw` keeps), so a mapping never hides what the city sent.

use crate::read::RawFeature;
use crate::text;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// A clerk's mapping for one layout.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// Source header (as the file writes it) → the standard column it is read as
    /// (e.g. `"ITEM004": "災害種別_津波"`, `"SAFIELD001": "名称"`).
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    /// Per source header: a value as written → the value to read (e.g. `"可": "1"`,
    /// `"不可": ""`, `"条件付": "△"`). Values not listed are read as written.
    #[serde(default)]
    pub values: BTreeMap<String, BTreeMap<String, String>>,
    /// Standard columns given one value for every record (e.g. a list of tsunami evacuation
    /// buildings: `"災害種別_津波": "1"`).
    #[serde(default)]
    pub set: BTreeMap<String, String>,
}

/// A mapping that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    /// Not the JSON shape of a mapping.
    #[error("対応付けのJSONが読めません / cannot read the mapping JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A target is empty, or two sources name the same target.
    #[error("対応付けが正しくありません / invalid mapping: {0}")]
    Invalid(String),
}

impl Mapping {
    /// Parse and check a mapping (`--mapping FILE`, the console's form).
    pub fn from_json(s: &str) -> Result<Mapping, MappingError> {
        let m: Mapping = serde_json::from_str(s)?;
        m.check()?;
        Ok(m)
    }

    /// The mapping as JSON (stable key order).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Nothing to do.
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty() && self.values.is_empty() && self.set.is_empty()
    }

    fn check(&self) -> Result<(), MappingError> {
        let mut seen = BTreeMap::new();
        for (src, dst) in &self.columns {
            let dst = dst.trim();
            if src.trim().is_empty() || dst.is_empty() {
                return Err(MappingError::Invalid(format!(
                    "空の列名 / empty column name ({src:?} → {dst:?})"
                )));
            }
            if let Some(prev) = seen.insert(dst.to_string(), src.clone()) {
                return Err(MappingError::Invalid(format!(
                    "{prev} と {src} が同じ列 {dst} に対応付けられています / {prev} and {src} are both mapped to {dst}"
                )));
            }
        }
        if self.set.keys().any(|k| k.trim().is_empty()) {
            return Err(MappingError::Invalid(
                "空の列名 / empty column name in set".into(),
            ));
        }
        Ok(())
    }

    /// True when every source header the mapping names is among `headers` (NFKC), so it was
    /// made for this layout.
    pub fn fits(&self, headers: &[String]) -> bool {
        self.columns
            .keys()
            .chain(self.values.keys())
            .all(|k| headers.contains(&text::nfkc_header(k)))
    }

    /// The record with the mapped cells added under their standard names, in front, so they
    /// take precedence over a same-named cell of the file; `raw` is left as the file had it.
    pub fn apply(&self, f: &mut RawFeature) {
        if self.is_empty() {
            return;
        }
        let mut added: Vec<(String, Option<String>)> = Vec::new();
        for (k, v) in &f.props {
            let nk = text::nfkc_header(k);
            let value = match (self.values.get(k).or_else(|| self.values.get(&nk)), v) {
                (Some(vm), Some(v)) => {
                    let t = v.trim();
                    Some(vm.get(t).cloned().unwrap_or_else(|| v.clone()))
                }
                (_, v) => v.clone(),
            };
            match self.columns.get(k).or_else(|| self.columns.get(&nk)) {
                Some(dst) => added.push((dst.trim().to_string(), value)),
                None if self.values.contains_key(k) || self.values.contains_key(&nk) => {
                    // Values remapped in place: the file's column name, the clerk's reading.
                    added.push((nk, value));
                }
                None => {}
            }
        }
        for (k, v) in &self.set {
            added.push((k.trim().to_string(), Some(v.clone())));
        }
        f.prepend_derived(added);
    }
}

/// One standard column a mapping may name: the header the normaliser reads, its labels, and
/// whether it is a flag (the form then asks which values mean yes, no and conditional).
#[derive(Clone, Copy, Debug)]
pub struct Target {
    /// Header name as the layouts write it (`名称`, `災害種別_津波`).
    pub header: &'static str,
    /// Label in Japanese.
    pub ja: &'static str,
    /// Label in English.
    pub en: &'static str,
    /// A yes / no / conditional column.
    pub flag: bool,
}

const fn t(header: &'static str, ja: &'static str, en: &'static str, flag: bool) -> Target {
    Target {
        header,
        ja,
        en,
        flag,
    }
}

/// The columns the console offers for `dataset`'s mapping form. Datasets without a list here
/// take a typed header name (any header their layouts read).
pub fn targets(dataset: crate::dataset::DatasetId) -> &'static [Target] {
    use crate::dataset::Kind;
    const SHELTERS: &[Target] = &[
        t("名称", "名称", "name", false),
        t("名称_カナ", "名称（カナ）", "name (kana)", false),
        t("名称_英字", "名称（英字）", "name (English)", false),
        t("住所", "住所", "address", false),
        t("緯度", "緯度", "latitude", false),
        t("経度", "経度", "longitude", false),
        t("ID", "ID", "ID", false),
        t("共通ID", "共通ID", "common ID", false),
        t("電話番号", "電話番号", "telephone", false),
        t("想定収容人数", "想定収容人数", "capacity", false),
        t("標高", "標高", "altitude", false),
        t("URL", "URL", "URL", false),
        t("備考", "備考", "note", false),
        t("災害種別_洪水", "洪水", "flood", true),
        t("災害種別_内水氾濫", "内水氾濫", "inland flood", true),
        t(
            "災害種別_崖崩れ、土石流及び地滑り",
            "土砂災害",
            "landslide",
            true,
        ),
        t("災害種別_高潮", "高潮", "storm surge", true),
        t("災害種別_地震", "地震", "earthquake", true),
        t("災害種別_津波", "津波", "tsunami", true),
        t("災害種別_大規模な火事", "大規模な火事", "large fire", true),
        t("災害種別_火山現象", "火山現象", "volcano", true),
        t(
            "指定避難所との重複",
            "指定避難所でもある",
            "also a designated shelter",
            true,
        ),
    ];
    const WARDS: &[Target] = &[
        t("地区コード", "地区のコード", "area code", false),
        t("地区名", "地区の名称", "area name", false),
        t("人口", "人口", "population", false),
        t("世帯数", "世帯数", "households", false),
        t(
            "全国地方公共団体コード",
            "全国地方公共団体コード",
            "municipality code",
            false,
        ),
    ];
    match dataset.kind() {
        Kind::Shelter => SHELTERS,
        Kind::Ward => WARDS,
        _ => &[],
    }
}

/// A mapping from the console's form: for column `i`, `h{i}` is the file's header, `t{i}`
/// the standard column chosen (empty: not used), and `y{i}` / `n{i}` / `c{i}` the values
/// (separated by `,` or `、`) that mean yes / no / conditional. None when nothing was chosen.
pub fn from_form(
    fields: &std::collections::HashMap<String, String>,
) -> Result<Option<Mapping>, MappingError> {
    let mut m = Mapping::default();
    for i in 0..500 {
        let Some(h) = fields.get(&format!("h{i}")) else {
            break;
        };
        let target = fields.get(&format!("t{i}")).map_or("", |s| s.trim());
        if target.is_empty() {
            continue;
        }
        m.columns.insert(h.clone(), target.to_string());
        let mut vm = BTreeMap::new();
        for (k, to) in [("y", "1"), ("n", ""), ("c", "△")] {
            if let Some(list) = fields.get(&format!("{k}{i}")) {
                for v in list.split([',', '、', '，']) {
                    let v = v.trim();
                    if !v.is_empty() {
                        vm.insert(v.to_string(), to.to_string());
                    }
                }
            }
        }
        if !vm.is_empty() {
            m.values.insert(h.clone(), vm);
        }
    }
    if m.is_empty() {
        return Ok(None);
    }
    m.check()?;
    Ok(Some(m))
}

/// The mapping sent with an upload: a `mapping` field holding its JSON (scripts), or the
/// console's form fields (`h0`, `t0`, …). None when neither is there.
pub fn from_upload_fields(
    fields: &std::collections::HashMap<String, String>,
) -> Result<Option<Mapping>, MappingError> {
    match fields
        .get("mapping")
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
    {
        Some(json) => Mapping::from_json(json).map(Some),
        None => from_form(fields),
    }
}

/// The key of a layout: SHA-256 of its sorted, NFKC-normalised header names (hex, 16 chars).
pub fn header_key(headers: &[String]) -> String {
    let mut h: Vec<String> = headers.iter().map(|x| text::nfkc_header(x)).collect();
    h.sort();
    h.dedup();
    let d = Sha256::digest(h.join("\u{1f}").as_bytes());
    d.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Loc;

    fn feat(props: &[(&str, &str)]) -> RawFeature {
        RawFeature {
            loc: Loc::Row(2),
            props: props
                .iter()
                .map(|(k, v)| (k.to_string(), Some(v.to_string())))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn mapped_cells_come_first_and_raw_is_the_files() {
        let m = Mapping::from_json(
            r#"{"columns": {"SAFIELD001": "名称", "ITEM004": "災害種別_津波"},
                "values": {"ITEM004": {"可": "1", "不可": "", "条件付": "△"}},
                "set": {"災害種別_地震": "1"}}"#,
        )
        .unwrap();
        let mut f = feat(&[
            ("SAFIELD001", "港ビル"),
            ("ITEM004", "条件付"),
            ("名称", "x"),
        ]);
        let raw = f.raw_json();
        m.apply(&mut f);
        assert_eq!(f.get("名称"), Some("港ビル"));
        assert_eq!(f.get("災害種別_津波"), Some("△"));
        assert_eq!(f.get("災害種別_地震"), Some("1"));
        assert_eq!(f.get("ITEM004"), Some("条件付"));
        assert_eq!(f.raw_json(), raw);
    }

    #[test]
    fn the_console_form_becomes_a_mapping() {
        let f: std::collections::HashMap<String, String> = [
            ("h0", "SAFIELD001"),
            ("t0", "名称"),
            ("h1", "ITEM005"),
            ("t1", "災害種別_津波"),
            ("y1", "可, あり"),
            ("n1", "不可"),
            ("c1", "条件付"),
            ("h2", "ITEM006"),
            ("t2", ""),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let m = from_form(&f).unwrap().unwrap();
        assert_eq!(m.columns.len(), 2);
        assert_eq!(m.columns["ITEM005"], "災害種別_津波");
        assert_eq!(m.values["ITEM005"]["あり"], "1");
        assert_eq!(m.values["ITEM005"]["不可"], "");
        assert_eq!(m.values["ITEM005"]["条件付"], "△");
        assert!(from_form(&Default::default()).unwrap().is_none());
    }

    #[test]
    fn header_key_ignores_order_and_width() {
        assert_eq!(
            header_key(&["名称".into(), "ＩＤ".into()]),
            header_key(&["ID".into(), "名称".into()])
        );
        assert_ne!(
            header_key(&["ID".into(), "名称".into()]),
            header_key(&["ID".into(), "名称".into(), "住所".into()])
        );
    }

    #[test]
    fn bad_mappings_are_refused_with_a_reason() {
        assert!(Mapping::from_json("{\"columns\": {\"a\": \"\"}}").is_err());
        assert!(Mapping::from_json("{\"columns\": {\"a\": \"名称\", \"b\": \"名称\"}}").is_err());
        assert!(Mapping::from_json("{\"colums\": {}}").is_err());
        let m = Mapping::from_json("{\"columns\": {\"SAUID\": \"ID\"}}").unwrap();
        assert!(m.fits(&["SAUID".into(), "X".into()]));
        assert!(!m.fits(&["X".into()]));
    }
}
