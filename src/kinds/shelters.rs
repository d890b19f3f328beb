//! Shelters (指定緊急避難場所 / 指定避難所): the 03 指定緊急避難場所一覧 layout of the
//! 自治体標準オープンデータセット (current G3 and the 2019 G1 推奨データセット), and the GSI
//! 指定緊急避難場所 (`_2`) and 指定避難所 (`_1`) files. Layouts are recognised by header names
//! and columns are mapped by name, never by position.
//!
//! Rows are buffered and merged in [`Normalizer::finish`]: a GSI record joins an already-read
//! record of another file with the same 共通ID, else with the same (folded) name within 300 m,
//! so a 03 file plus a GSI `_1` file become one table with both designations.

use super::aliases;
use super::{flag_val, Cells, Flag, Normalizer, Out, Row};
use crate::dataset::{Column, SqlType, Val, SHELTER_COLUMNS};
use crate::read::{point_from_latlon, RawFeature, SourceInfo};
use crate::report::{code, issue, Loc, Report};
use crate::text;
use geo::{Geometry, Point};
use std::collections::{HashMap, HashSet};

/// Position of column `name` in `cols`; evaluated at compile time, so a renamed column is a
/// build error rather than a value in the wrong place.
pub(crate) const fn column_index(cols: &[Column], name: &str) -> usize {
    let n = name.as_bytes();
    let mut i = 0;
    while i < cols.len() {
        let c = cols[i].name.as_bytes();
        if c.len() == n.len() {
            let mut j = 0;
            while j < n.len() && c[j] == n[j] {
                j += 1;
            }
            if j == n.len() {
                return i;
            }
        }
        i += 1;
    }
    panic!("no such column")
}

/// A code-like cell (ID, 共通ID, 郵便番号…): NFKC-normalised, full-width repairs reported.
/// Returns the header it was found under and the value.
pub(crate) fn code_text(
    c: &mut Cells<'_>,
    keys: &[&'static str],
) -> Option<(&'static str, String)> {
    let (k, v) = c.find(keys)?;
    let (n, changed) = text::nfkc(&v);
    if n.is_empty() {
        return None;
    }
    if is_excel_exponent(&n) {
        // 4.00E+12: Excel dropped the digits; what was there cannot be recovered.
        c.report(issue(code::EXCEL_EXPONENT).column(k).value(v));
        return Some((k, n));
    }
    if changed {
        c.report(
            issue(code::FULLWIDTH_NORMALIZED)
                .column(k)
                .value(v)
                .repaired(n.clone()),
        );
    }
    Some((k, n))
}

/// `4.00E+12`, `1.3E+13`: a long number Excel turned into exponent form.
fn is_excel_exponent(s: &str) -> bool {
    let Some((m, e)) = s.split_once(['E', 'e']) else {
        return false;
    };
    let e = e.strip_prefix('+').unwrap_or(e);
    !m.is_empty()
        && m.chars().all(|c| c.is_ascii_digit() || c == '.')
        && m.chars().next().is_some_and(|c| c.is_ascii_digit())
        && !e.is_empty()
        && e.chars().all(|c| c.is_ascii_digit())
}

/// The first headers of a file, for a HEADER_UNRECOGNIZED message.
pub(crate) fn headers_found(names: &[String]) -> String {
    let mut s = names
        .iter()
        .take(12)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > 12 {
        s.push_str(", …");
    }
    s
}

const ID: usize = column_index(SHELTER_COLUMNS, "id");
const COMMON_ID: usize = column_index(SHELTER_COLUMNS, "common_id");
const LG_CODE: usize = column_index(SHELTER_COLUMNS, "lg_code");
const NAME: usize = column_index(SHELTER_COLUMNS, "name");
const NAME_KANA: usize = column_index(SHELTER_COLUMNS, "name_kana");
const NAME_EN: usize = column_index(SHELTER_COLUMNS, "name_en");
const ADDRESS: usize = column_index(SHELTER_COLUMNS, "address");
const ADDRESS_PREF: usize = column_index(SHELTER_COLUMNS, "address_pref");
const ADDRESS_CITY: usize = column_index(SHELTER_COLUMNS, "address_city");
const ADDRESS_TOWN: usize = column_index(SHELTER_COLUMNS, "address_town");
const ADDRESS_NUMBER: usize = column_index(SHELTER_COLUMNS, "address_number");
const BUILDING: usize = column_index(SHELTER_COLUMNS, "building");
const TOWN_ID: usize = column_index(SHELTER_COLUMNS, "town_id");
const ADDRESS_LG_CODE: usize = column_index(SHELTER_COLUMNS, "address_lg_code");
const LAT: usize = column_index(SHELTER_COLUMNS, "lat");
const LON: usize = column_index(SHELTER_COLUMNS, "lon");
const ALTITUDE: usize = column_index(SHELTER_COLUMNS, "altitude_m");
const PHONE: usize = column_index(SHELTER_COLUMNS, "phone");
const PHONE_EXT: usize = column_index(SHELTER_COLUMNS, "phone_ext");
const EMAIL: usize = column_index(SHELTER_COLUMNS, "email");
const FORM_URL: usize = column_index(SHELTER_COLUMNS, "form_url");
const CONTACT_NOTE: usize = column_index(SHELTER_COLUMNS, "contact_note");
const POSTCODE: usize = column_index(SHELTER_COLUMNS, "postcode");
const CITY_CODE: usize = column_index(SHELTER_COLUMNS, "city_code");
const LG_NAME: usize = column_index(SHELTER_COLUMNS, "lg_name");
const IS_EMERGENCY_SITE: usize = column_index(SHELTER_COLUMNS, "is_emergency_site");
const IS_SHELTER: usize = column_index(SHELTER_COLUMNS, "is_shelter");
const CAPACITY: usize = column_index(SHELTER_COLUMNS, "capacity");
const COMMUNITIES: usize = column_index(SHELTER_COLUMNS, "communities");
const ACCEPTS: usize = column_index(SHELTER_COLUMNS, "accepts");
const URL: usize = column_index(SHELTER_COLUMNS, "url");
const IMAGE: usize = column_index(SHELTER_COLUMNS, "image");
const IMAGE_LICENSE: usize = column_index(SHELTER_COLUMNS, "image_license");
const NOTE: usize = column_index(SHELTER_COLUMNS, "note");
const SOURCE_LAYOUT: usize = column_index(SHELTER_COLUMNS, "source_layout");
const CONDITIONAL: usize = column_index(SHELTER_COLUMNS, "conditional");

/// The eight 災害種別 flags: output column, 03/G1 header, GSI `_2` header.
const FLAGS: [(usize, &str, &str); 8] = [
    (
        column_index(SHELTER_COLUMNS, "flood"),
        "災害種別_洪水",
        "洪水",
    ),
    (
        column_index(SHELTER_COLUMNS, "landslide"),
        "災害種別_崖崩れ、土石流及び地滑り",
        "崖崩れ、土石流及び地滑り",
    ),
    (
        column_index(SHELTER_COLUMNS, "storm_surge"),
        "災害種別_高潮",
        "高潮",
    ),
    (
        column_index(SHELTER_COLUMNS, "earthquake"),
        "災害種別_地震",
        "地震",
    ),
    (
        column_index(SHELTER_COLUMNS, "tsunami"),
        "災害種別_津波",
        "津波",
    ),
    (
        column_index(SHELTER_COLUMNS, "large_fire"),
        "災害種別_大規模な火事",
        "大規模な火事",
    ),
    (
        column_index(SHELTER_COLUMNS, "inland_flood"),
        "災害種別_内水氾濫",
        "内水氾濫",
    ),
    (
        column_index(SHELTER_COLUMNS, "volcano"),
        "災害種別_火山現象",
        "火山現象",
    ),
];

const LG_KEYS: &[&str] = &["全国地方公共団体コード", "都道府県コード又は市区町村コード"];
const ID_KEYS: &[&str] = &["ID", "NO"];
const NAME_KEYS_ODS: &[&str] = &["名称", "施設・場所名"];
const NAME_KEYS_GSI: &[&str] = &["施設・場所名", "名称"];
const ADDRESS_KEYS: &[&str] = &["所在地_連結表記", "住所"];
const BUILDING_KEYS: &[&str] = &["建物名等(方書)", "建物名等（方書）", "方書"];
const LAT_KEY: &str = "緯度";
const LON_KEY: &str = "経度";

/// Merge radius for records matched by name.
const MERGE_RADIUS_M: f64 = 300.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    OdsG3,
    OdsG1,
    Gsi2,
    Gsi1,
    /// Any other list with a name column: 避難所一覧 with 開設される災害の種類 columns, lists of
    /// tsunami evacuation buildings, a city's own (English) design, GIS exports.
    List(ListKind),
}

/// What a generic list is a list of, from its columns and its file name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ListKind {
    /// 避難所一覧: shelters opened for the disasters its 開設される災害の種類 columns name.
    Opening,
    /// 津波避難ビル・タワー: refuges from tsunami.
    TsunamiRefuge,
    /// Designations read only from the hazard columns it has (possibly none).
    Plain,
}

impl Layout {
    fn name(self) -> &'static str {
        match self {
            Layout::OdsG3 => "ods_g3",
            Layout::OdsG1 => "ods_g1",
            Layout::Gsi2 => "gsi_2",
            Layout::Gsi1 => "gsi_1",
            Layout::List(ListKind::Opening) => "list_opening",
            Layout::List(ListKind::TsunamiRefuge) => "list_tsunami_refuge",
            Layout::List(ListKind::Plain) => "list",
        }
    }

    fn label(self) -> (&'static str, &'static str) {
        match self {
            Layout::OdsG3 => (
                "03 指定緊急避難場所一覧（自治体標準オープンデータセット）",
                "03 designated emergency evacuation sites (municipal standard open dataset)",
            ),
            Layout::OdsG1 => (
                "指定緊急避難場所一覧（2019年 推奨データセット）",
                "designated emergency evacuation sites (2019 recommended dataset)",
            ),
            Layout::Gsi2 => (
                "国土地理院 指定緊急避難場所データ（_2）",
                "GSI designated emergency evacuation sites (_2)",
            ),
            Layout::Gsi1 => (
                "国土地理院 指定避難所データ（_1）",
                "GSI designated shelters (_1)",
            ),
            Layout::List(ListKind::Opening) => (
                "避難所一覧（開設される災害の種類の列あり）",
                "list of shelters with the disasters they open for",
            ),
            Layout::List(ListKind::TsunamiRefuge) => (
                "津波避難ビル・津波避難施設の一覧",
                "list of tsunami evacuation buildings or towers",
            ),
            Layout::List(ListKind::Plain) => (
                "避難所・避難場所の一覧（名称と位置の列による）",
                "list of shelters or sites (read by its name and location columns)",
            ),
        }
    }

    fn is_gsi(self) -> bool {
        matches!(self, Layout::Gsi1 | Layout::Gsi2)
    }
}

/// Recognise the layout from the header names (NFKC) and, for GSI files that lack their
/// distinguishing columns, the `_1`/`_2` of the file name.
fn detect(names: &[String], file: &str) -> Option<Layout> {
    let has = |k: &str| names.iter().any(|n| n == k);
    if has("所在地_連結表記")
        || has("名称_英字")
        || has("名称_英語")
        || (has("全国地方公共団体コード") && has("ID") && has("名称"))
    {
        return Some(Layout::OdsG3);
    }
    if has("施設・場所名") || (has("共通ID") && has("住所")) {
        if has("指定緊急避難場所との住所同一")
            || has("受入対象者")
            || has("その他市町村長が必要と認める事項")
        {
            return Some(Layout::Gsi1);
        }
        if has("指定避難所との住所同一") || FLAGS.iter().any(|(_, _, g)| has(g)) {
            return Some(Layout::Gsi2);
        }
        return match gsi_file_kind(file) {
            Some(b'1') => Some(Layout::Gsi1),
            Some(b'2') => Some(Layout::Gsi2),
            _ => None,
        };
    }
    if has("名称")
        && has("住所")
        && (has("NO") || has("市区町村コード") || has("都道府県コード又は市区町村コード"))
    {
        return Some(Layout::OdsG1);
    }
    None
}

/// The layout of a file whose headers are not one of the national layouts as written: after
/// renaming the variants real files use ([`aliases`]), any file with a name column is a list.
fn detect_list(orig: &[String], aliased: &[String], file: &str) -> Option<Layout> {
    if !aliased.iter().any(|n| n == "名称") {
        return None;
    }
    if orig.iter().any(|n| aliases::is_opening_column(n)) {
        return Some(Layout::List(ListKind::Opening));
    }
    if aliases::names_tsunami_refuge(file, orig) {
        return Some(Layout::List(ListKind::TsunamiRefuge));
    }
    Some(Layout::List(ListKind::Plain))
}

/// Source header → the 03 names it stands for, for the headers of one file that are variants.
fn header_aliases(names: &[String]) -> Vec<(String, Vec<String>)> {
    names
        .iter()
        .filter_map(|n| {
            let c: Vec<String> = aliases::canonical(n)
                .into_iter()
                .filter(|c| c != n)
                .collect();
            (!c.is_empty()).then(|| (n.clone(), c))
        })
        .collect()
}

/// File name without folders and extension (`a.zip/13101_2.csv` → `13101_2`).
fn file_stem(file: &str) -> &str {
    let base = file.rsplit(['/', '\\']).next().unwrap_or(file);
    match base.rfind('.') {
        Some(i) if i > 0 => &base[..i],
        _ => base,
    }
}

/// The 5 digits right before `_1`/`_2` in a GSI file name, and the 1 or 2.
fn gsi_file_parts(file: &str) -> Option<(&str, u8)> {
    let s = file_stem(file);
    let b = s.as_bytes();
    let mut found = None;
    for i in 0..b.len().saturating_sub(6) {
        let digits = b[i..i + 5].iter().all(u8::is_ascii_digit);
        let before_ok = i == 0 || !b[i - 1].is_ascii_digit();
        let suffix = b[i + 5] == b'_' && matches!(b[i + 6], b'1' | b'2');
        let after_ok = b.get(i + 7).is_none_or(|c| !c.is_ascii_digit());
        if digits && before_ok && suffix && after_ok {
            found = Some((&s[i..i + 5], b[i + 6]));
        }
    }
    found
}

/// `_1` or `_2` at the end of a GSI file name (with or without the municipal code).
fn gsi_file_kind(file: &str) -> Option<u8> {
    if let Some((_, k)) = gsi_file_parts(file) {
        return Some(k);
    }
    let s = file_stem(file).as_bytes();
    match s {
        [.., b'_', k @ (b'1' | b'2')] => Some(*k),
        _ => None,
    }
}

/// The 全国地方公共団体コード of a GSI municipal file, from its name (`13101_2.csv` → `131016`).
fn gsi_file_lg_code(file: &str) -> Option<String> {
    let (c5, _) = gsi_file_parts(file)?;
    if !matches!(c5[..2].parse::<u8>(), Ok(1..=47)) {
        return None;
    }
    text::check_digit(c5).map(|d| format!("{c5}{d}"))
}

/// The record with each variant header's value added under the 03 names it stands for (the
/// original properties stay first, so a file that has both keeps its own 03 column).
fn with_aliases(mut f: RawFeature, aliases: &[(String, Vec<String>)]) -> RawFeature {
    let mut extra = Vec::new();
    for (k, v) in &f.props {
        let k = text::nfkc_header(k);
        if let Some((_, c)) = aliases.iter().find(|(h, _)| *h == k) {
            extra.extend(c.iter().map(|c| (c.clone(), v.clone())));
        }
    }
    f.props.extend(extra);
    f
}

/// Great-circle distance in metres.
fn distance_m(a: Point<f64>, b: Point<f64>) -> f64 {
    let (la1, la2) = (a.y().to_radians(), b.y().to_radians());
    let dla = la2 - la1;
    let dlo = (b.x() - a.x()).to_radians();
    let h = (dla / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlo / 2.0).sin().powi(2);
    2.0 * 6_371_008.8 * h.sqrt().min(1.0).asin()
}

struct FileState {
    layout: Option<Layout>,
    /// Variant headers of this file and the 03 names they are read as.
    aliases: Vec<(String, Vec<String>)>,
    /// 全国地方公共団体コード from a GSI file name.
    name_code: Option<String>,
    ids: HashSet<String>,
    common_ids: HashSet<String>,
}

/// One normalised record waiting for the merge.
struct Rec {
    layout: Layout,
    /// File and row of the record, for issues found at the merge.
    file: String,
    loc: Loc,
    /// Header the ID came from (`ID` or `NO`).
    id_col: &'static str,
    values: Vec<Val>,
    point: Option<Point<f64>>,
    fold: String,
    /// Files merged into this record (the first is its own).
    files: Vec<String>,
    raws: Vec<String>,
}

impl Rec {
    fn text(&self, i: usize) -> Option<&str> {
        match &self.values[i] {
            Val::Text(s) => Some(s),
            _ => None,
        }
    }

    fn has_layout(&self, l: Layout) -> bool {
        self.text(SOURCE_LAYOUT)
            .is_some_and(|s| s.split('+').any(|x| x == l.name()))
    }

    /// Natural key and, for keys that must be unique (共通ID, 03 ID), the header to name when
    /// they are not.
    fn key(&self) -> (String, Option<&'static str>) {
        if let Some(c) = self.text(COMMON_ID) {
            return (c.to_string(), Some("共通ID"));
        }
        if let Some(id) = self.text(ID) {
            if self.layout.is_gsi() {
                // GSI NO is a row number: keep it from colliding with 03 IDs.
                return (format!("{}#{id}", self.layout.name()), None);
            }
            return (id.to_string(), Some(self.id_col));
        }
        (self.text(NAME).unwrap_or_default().to_string(), None)
    }

    /// Take `other`'s designations and flags, and fill what this record lacks.
    fn merge(&mut self, other: Rec) {
        for (i, v) in other.values.into_iter().enumerate() {
            if i == SOURCE_LAYOUT {
                if let Val::Text(l) = v {
                    match &mut self.values[i] {
                        Val::Text(s) => {
                            if !s.split('+').any(|x| x == &*l) {
                                *s = format!("{s}+{l}").into();
                            }
                        }
                        slot => *slot = Val::Text(l),
                    }
                }
            } else if SHELTER_COLUMNS[i].ty == SqlType::Bool {
                if v == Val::Bool(true) {
                    self.values[i] = Val::Bool(true);
                }
            } else if i == ID && !self.layout.is_gsi() {
                // A GSI NO is only a row number of another file.
            } else if self.values[i] == Val::Null {
                self.values[i] = v;
            }
        }
        if self.point.is_none() {
            self.point = other.point;
        }
        self.files.push(other.file);
        self.raws.extend(other.raws);
    }
}

/// Normaliser for shelters: buffers records and merges them across files in `finish`.
#[derive(Default)]
pub struct Shelters {
    files: HashMap<String, FileState>,
    recs: Vec<Rec>,
    too_many: bool,
}

/// Most records one upload may hold: every record waits in memory for the merge across files
/// (about 2 KB each), and the whole of Japan has about 110,000 designated sites.
pub const MAX_RECORDS: usize = 200_000;

impl Shelters {
    fn start_file(src: &SourceInfo, f: &RawFeature, report: &mut Report) -> FileState {
        let names = src.header_names(f);
        let aliases = header_aliases(&names);
        let mut aliased = names.clone();
        aliased.extend(aliases.iter().flat_map(|(_, c)| c.iter().cloned()));
        let layout = detect(&names, &src.file).or_else(|| detect_list(&names, &aliased, &src.file));
        let has_hazard_columns = FLAGS
            .iter()
            .any(|(_, ods, gsi)| aliased.iter().any(|n| n == ods || n == gsi));
        if layout.is_some() && !aliases.is_empty() {
            let list = aliases
                .iter()
                .map(|(h, c)| format!("{h} → {}", c.join("・")))
                .collect::<Vec<_>>()
                .join("; ");
            report.push_in(&src.file, issue(code::HEADER_ALIASED).value(list));
        }
        if matches!(layout, Some(Layout::List(ListKind::Plain))) && !has_hazard_columns {
            report.push_in(&src.file, issue(code::SHELTER_NO_HAZARD_COLUMNS));
        }
        match layout {
            None => report.push_in(
                &src.file,
                issue(code::HEADER_UNRECOGNIZED)
                    .value(super::headers_with_samples(&names, f))
                    .detail(
                        "名称の列（名称・施設名・避難所名・name など）が見つかりません",
                        "no name column (名称, 施設名, 避難所名, name, …) was found",
                    )
                    .expected(
                    "次のいずれかの様式の見出し: 03 指定緊急避難場所一覧（名称, 所在地_連結表記 または 名称_英字、\
                     あるいは 全国地方公共団体コード, ID, 名称）／2019年版 指定緊急避難場所一覧（NO, 名称, 住所, 市区町村コード, \
                     災害種別_洪水…, 指定避難所との重複）／国土地理院 指定緊急避難場所 _2（共通ID, 施設・場所名, 住所, 洪水…, \
                     指定避難所との住所同一, 緯度, 経度）／国土地理院 指定避難所 _1（共通ID, 施設・場所名, 住所, \
                     指定緊急避難場所との住所同一, 受入対象者, 緯度, 経度）／または 名称（施設名・避難所名・name）と\
                     緯度・経度（または点のジオメトリ）を持つ一覧",
                    "the header of one of: 03 evacuation sites (名称, 所在地_連結表記 or 名称_英字, or \
                     全国地方公共団体コード, ID, 名称); the 2019 layout (NO, 名称, 住所, 市区町村コード, 災害種別_洪水…, \
                     指定避難所との重複); GSI emergency sites _2 (共通ID, 施設・場所名, 住所, 洪水…, 指定避難所との住所同一, \
                     緯度, 経度); GSI shelters _1 (共通ID, 施設・場所名, 住所, 指定緊急避難場所との住所同一, 受入対象者, \
                     緯度, 経度); or any list with a name column (名称, 施設名, 避難所名, name) and latitude/longitude \
                     (or point geometry)",
                ),
            ),
            Some(l) => {
                let (ja, en) = l.label();
                report.push_in(
                    &src.file,
                    issue(code::LAYOUT_DETECTED).value(l.name()).detail(ja, en),
                );
                report.layout = Some(match report.layout.take() {
                    Some(prev) if prev.split(" + ").any(|p| p == ja) => prev,
                    Some(prev) => format!("{prev} + {ja}"),
                    None => ja.to_string(),
                });
            }
        }
        FileState {
            layout,
            aliases,
            name_code: if layout.is_some_and(Layout::is_gsi) {
                gsi_file_lg_code(&src.file)
            } else {
                None
            },
            ids: HashSet::new(),
            common_ids: HashSet::new(),
        }
    }
}

/// Map one record; None when it has an error.
fn normalize(
    layout: Layout,
    st: &mut FileState,
    src: &SourceInfo,
    f: &RawFeature,
    raw: String,
    report: &mut Report,
) -> Option<Rec> {
    let mut c = Cells::new(src, f, report);
    let mut v = vec![Val::Null; SHELTER_COLUMNS.len()];

    let id = code_text(&mut c, ID_KEYS);
    let id_col = id.as_ref().map_or("ID", |(k, _)| *k);
    if let Some((k, id)) = &id {
        if !layout.is_gsi() && !st.ids.insert(id.clone()) {
            c.report(
                issue(code::DUPLICATE_ID)
                    .column(*k)
                    .value(id.clone())
                    .expected("ファイル内で重複しないID", "an ID unique in the file"),
            );
        }
    }
    let common = code_text(&mut c, &["共通ID"]);
    if let Some((k, cid)) = &common {
        if !st.common_ids.insert(cid.clone()) {
            c.report(
                issue(code::DUPLICATE_ID)
                    .column(*k)
                    .value(cid.clone())
                    .expected(
                        "ファイル内で重複しない共通ID",
                        "a 共通ID unique in the file",
                    ),
            );
        }
    }
    v[ID] = Val::opt_text(id.map(|x| x.1));
    v[COMMON_ID] = Val::opt_text(common.map(|x| x.1));

    let city = c.lg_code(&["市区町村コード"]);
    let lg = c
        .lg_code(LG_KEYS)
        .or_else(|| st.name_code.clone())
        .or_else(|| city.clone());
    v[LG_CODE] = Val::opt_text(lg);
    v[CITY_CODE] = Val::opt_text(city);

    let name_keys = if layout.is_gsi() {
        NAME_KEYS_GSI
    } else {
        NAME_KEYS_ODS
    };
    let name = c.required_text(name_keys);
    v[NAME] = Val::opt_text(name.clone());
    v[NAME_KANA] = Val::opt_text(c.text(&["名称_カナ"]));
    v[NAME_EN] = Val::opt_text(c.text(&["名称_英字", "名称_英語"]));
    v[ADDRESS] = Val::opt_text(c.text(ADDRESS_KEYS));
    v[ADDRESS_PREF] = Val::opt_text(c.text(&["所在地_都道府県"]));
    v[ADDRESS_CITY] = Val::opt_text(c.text(&["所在地_市区町村"]));
    v[ADDRESS_TOWN] = Val::opt_text(c.text(&["所在地_町字"]));
    v[ADDRESS_NUMBER] = Val::opt_text(c.text(&["所在地_番地以下"]));
    v[BUILDING] = Val::opt_text(c.text(BUILDING_KEYS));
    v[TOWN_ID] = Val::opt_text(code_text(&mut c, &["町字ID"]).map(|x| x.1));
    v[ADDRESS_LG_CODE] = Val::opt_text(c.lg_code(&["所在地_全国地方公共団体コード"]));

    let point = coordinates(&mut c);
    if let Some(p) = point {
        v[LAT] = Val::Float(p.y());
        v[LON] = Val::Float(p.x());
    }
    v[ALTITUDE] = c.number(&["標高"]).map_or(Val::Null, Val::Float);

    v[PHONE] = Val::opt_text(code_text(&mut c, &["電話番号"]).map(|x| x.1));
    v[PHONE_EXT] = Val::opt_text(code_text(&mut c, &["内線番号"]).map(|x| x.1));
    v[EMAIL] = Val::opt_text(c.text(&["連絡先メールアドレス"]));
    v[FORM_URL] = Val::opt_text(c.text(&["連絡先FormURL"]));
    v[CONTACT_NOTE] = Val::opt_text(c.text(&["連絡先備考（その他、SNSなど）", "連絡先備考"]));
    v[POSTCODE] = Val::opt_text(code_text(&mut c, &["郵便番号"]).map(|x| x.1));

    let lg_name = c.text(&["地方公共団体名"]).or_else(|| {
        match (c.text(&["都道府県名"]), c.text(&["市区町村名"])) {
            (Some(p), Some(m)) if m.starts_with(&p) => Some(m),
            (Some(p), Some(m)) => Some(format!("{p}{m}")),
            (p, m) => p.or(m),
        }
    });
    v[LG_NAME] = Val::opt_text(lg_name.or_else(|| c.text(&["都道府県名及び市町村名"])));

    let mut conditional: Vec<&str> = Vec::new();
    let mut any_yes = false;
    for (col, ods, gsi) in FLAGS {
        let mut f = c.flag_any(&[ods, gsi]);
        if f == Flag::Absent && col == FLAGS[4].0 && layout == Layout::List(ListKind::TsunamiRefuge)
        {
            // A list of tsunami evacuation buildings designates every entry for tsunami.
            f = Flag::Yes;
            c.report(issue(code::TSUNAMI_FROM_LIST).column(ods).repaired("1"));
        }
        v[col] = match f {
            Flag::Yes => {
                any_yes = true;
                Val::Bool(true)
            }
            Flag::No | Flag::Absent => Val::Bool(false),
            Flag::Conditional => {
                conditional.push(SHELTER_COLUMNS[col].name);
                Val::Null
            }
        };
    }
    v[CONDITIONAL] = Val::text(conditional.join(";"));
    let (emergency, shelter) = match layout {
        Layout::OdsG3 | Layout::OdsG1 => (true, c.flag(&["指定避難所との重複"])),
        Layout::Gsi2 => (true, c.flag(&["指定避難所との住所同一"])),
        Layout::Gsi1 => (c.flag(&["指定緊急避難場所との住所同一"]), true),
        // 開設される災害の種類: shelters opened per disaster (指定避難所).
        Layout::List(ListKind::Opening) => (false, true),
        Layout::List(ListKind::TsunamiRefuge) => (true, c.flag(&["指定避難所との重複"])),
        // Emergency sites are designated per hazard: a site flagged for one is one.
        Layout::List(ListKind::Plain) => (
            any_yes || !conditional.is_empty(),
            c.flag(&["指定避難所との重複"]),
        ),
    };
    v[IS_EMERGENCY_SITE] = flag_val(emergency);
    v[IS_SHELTER] = flag_val(shelter);

    let capacity = c.int(&["想定収容人数"]);
    if let Some(n) = capacity.filter(|n| *n < 0) {
        c.report(
            issue(code::VALUE_OUT_OF_RANGE)
                .column("想定収容人数")
                .value(n.to_string())
                .expected("0以上の整数", "a whole number ≥ 0"),
        );
    }
    v[CAPACITY] = capacity.map_or(Val::Null, Val::Int);
    v[COMMUNITIES] = Val::opt_text(c.text(&["対象となる町会・自治会"]));
    v[ACCEPTS] = Val::opt_text(c.text(&["受入対象者"]));
    v[URL] = Val::opt_text(c.text(&["URL"]));
    v[IMAGE] = Val::opt_text(c.text(&["画像"]));
    v[IMAGE_LICENSE] = Val::opt_text(c.text(&["画像_ライセンス"]));
    v[NOTE] = Val::opt_text(c.text(&["備考"]));
    v[SOURCE_LAYOUT] = Val::text(layout.name());

    if c.errors > 0 {
        return None;
    }
    let name = name?;
    Some(Rec {
        layout,
        file: src.file.clone(),
        loc: f.loc,
        id_col,
        values: v,
        point,
        fold: text::search_fold(&name),
        files: vec![src.file.clone()],
        raws: vec![raw],
    })
}

/// The record's point: 緯度/経度 columns (swap repair and range check), else a point geometry
/// of a GeoJSON or Shapefile source. Errors are counted on `c`.
fn coordinates(c: &mut Cells<'_>) -> Option<Point<f64>> {
    let has_lat = c.find(&[LAT_KEY]).is_some();
    let has_lon = c.find(&[LON_KEY]).is_some();
    if has_lat && has_lon {
        let lat = c.number(&[LAT_KEY]);
        let lon = c.number(&[LON_KEY]);
        let (lat, lon) = (lat?, lon?);
        let p = point_from_latlon(c.src, c.f.loc, lat, lon, (LAT_KEY, LON_KEY), c.report);
        if p.is_none() {
            // point_from_latlon reported the error itself.
            c.errors += 1;
        }
        return p;
    }
    if !has_lat && !has_lon {
        match &c.f.geometry {
            Some(Geometry::Point(p)) => return Some(*p),
            Some(Geometry::MultiPoint(m)) if m.0.len() == 1 => return Some(m.0[0]),
            Some(_) => {
                c.report(issue(code::GEOMETRY_WRONG_TYPE).expected(
                    "Point（または緯度・経度の列）",
                    "Point (or latitude/longitude columns)",
                ));
                return None;
            }
            None => {}
        }
    }
    let missing = match (has_lat, has_lon) {
        (true, false) => LON_KEY.to_string(),
        (false, true) => LAT_KEY.to_string(),
        _ => format!("{LAT_KEY}/{LON_KEY}"),
    };
    c.report(issue(code::COORD_MISSING).column(missing).expected(
        "十進数の緯度・経度（例: 緯度 34.661234, 経度 133.921234）",
        "decimal latitude and longitude, e.g. 34.661234, 133.921234",
    ));
    None
}

impl Normalizer for Shelters {
    fn feature(
        &mut self,
        src: &SourceInfo,
        f: RawFeature,
        report: &mut Report,
        _out: &mut Out<'_>,
    ) {
        if !self.files.contains_key(&src.file) {
            let st = Self::start_file(src, &f, report);
            self.files.insert(src.file.clone(), st);
        }
        let Some(st) = self.files.get_mut(&src.file) else {
            return;
        };
        let Some(layout) = st.layout else {
            return;
        };
        if self.recs.len() >= MAX_RECORDS {
            if !self.too_many {
                self.too_many = true;
                report.push_in(
                    &src.file,
                    issue(code::TOO_MANY_RECORDS).at(f.loc).detail(
                        format!("避難所・避難場所は1回の取り込みで{MAX_RECORDS}件まで"),
                        format!("at most {MAX_RECORDS} shelters and sites per upload"),
                    ),
                );
            }
            return;
        }
        let raw = f.raw_json();
        let f = if st.aliases.is_empty() {
            f
        } else {
            with_aliases(f, &st.aliases)
        };
        if let Some(rec) = normalize(layout, st, src, &f, raw, report) {
            self.recs.push(rec);
        }
    }

    fn finish(&mut self, report: &mut Report, out: &mut Out<'_>) {
        let (mut placed, gsi): (Vec<Rec>, Vec<Rec>) = std::mem::take(&mut self.recs)
            .into_iter()
            .partition(|r| !r.layout.is_gsi());
        let mut by_common: HashMap<String, usize> = HashMap::new();
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, r) in placed.iter().enumerate() {
            if let Some(c) = r.text(COMMON_ID) {
                by_common.entry(c.to_string()).or_insert(i);
            }
            by_name.entry(r.fold.clone()).or_default().push(i);
        }
        // GSI records after the 03 ones, so the merge does not depend on the order of the files.
        for r in gsi {
            let target = find_match(&placed, &by_common, &by_name, &r);
            let cid = r.text(COMMON_ID).map(str::to_string);
            let i = match target {
                Some(m) => {
                    placed[m].merge(r);
                    m
                }
                None => {
                    let i = placed.len();
                    by_name.entry(r.fold.clone()).or_default().push(i);
                    placed.push(r);
                    i
                }
            };
            if let Some(cid) = cid {
                by_common.entry(cid).or_insert(i);
            }
        }

        let mut used: HashSet<String> = HashSet::new();
        // Next free `#n` suffix per key, so a list of many same-named rows without IDs is
        // numbered in linear time.
        let mut next_suffix: HashMap<String, u32> = HashMap::new();
        let mut emitted = 0u64;
        for r in placed {
            let (key, unique_col) = r.key();
            let key = match unique_col {
                Some(col) => {
                    if !used.insert(key.clone()) {
                        report.push_in(
                            &r.file,
                            issue(code::DUPLICATE_ID)
                                .at(r.loc)
                                .column(col)
                                .value(key)
                                .detail(
                                    "別のファイルに同じIDがあります",
                                    "another file has the same ID",
                                ),
                        );
                        continue;
                    }
                    key
                }
                None => {
                    let mut k = key.clone();
                    let n = next_suffix.entry(key.clone()).or_insert(2);
                    while !used.insert(k.clone()) {
                        k = format!("{key}#{n}");
                        *n += 1;
                    }
                    k
                }
            };
            let raw = if r.raws.len() == 1 {
                r.raws.into_iter().next().unwrap_or_default()
            } else {
                format!("[{}]", r.raws.join(","))
            };
            report.records_accepted += 1;
            emitted += 1;
            out(Row {
                key: Some(key),
                values: r.values,
                geometry: r.point.map(Geometry::Point),
                raw,
            });
        }
        if emitted == 0 && report.count(code::NO_RECORDS) == 0 && !report.rejected() {
            report.push(issue(code::NO_RECORDS));
        }
    }
}

/// The placed record a GSI record belongs to: same 共通ID, else same folded name within
/// [`MERGE_RADIUS_M`] (the nearest). Never a record its own file already contributed to, and
/// never, by name, a record of the same GSI layout with another 共通ID (a different site).
fn find_match(
    placed: &[Rec],
    by_common: &HashMap<String, usize>,
    by_name: &HashMap<String, Vec<usize>>,
    r: &Rec,
) -> Option<usize> {
    let free = |m: usize| !placed[m].files.contains(&r.file);
    let cid = r.text(COMMON_ID);
    if let Some(&m) = cid.and_then(|c| by_common.get(c)) {
        if free(m) {
            return Some(m);
        }
    }
    let p = r.point?;
    by_name
        .get(&r.fold)?
        .iter()
        .copied()
        .filter(|&m| free(m))
        .filter(|&m| {
            let other = &placed[m];
            !(other.has_layout(r.layout)
                && matches!((other.text(COMMON_ID), cid), (Some(a), Some(b)) if a != b))
        })
        .filter_map(|m| placed[m].point.map(|q| (m, distance_m(p, q))))
        .filter(|(_, d)| *d <= MERGE_RADIUS_M)
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(m, _)| m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crs::{Crs, Transformer};
    use crate::read::csv::read_text;

    fn run(files: &[(&str, &str)]) -> (Vec<Row>, Report) {
        let mut n = Shelters::default();
        let mut report = Report::new("test");
        let mut rows = Vec::new();
        for (name, body) in files {
            let t = Transformer::new(Crs::from_epsg(6668).unwrap()).unwrap();
            let _ = read_text(body, name, t, &mut report, &mut |src, f, rep| {
                n.feature(src, f, rep, &mut |r| rows.push(r));
                std::ops::ControlFlow::Continue(())
            });
        }
        n.finish(&mut report, &mut |r| rows.push(r));
        (rows, report)
    }

    fn val<'r>(row: &'r Row, col: &str) -> &'r Val {
        let i = SHELTER_COLUMNS
            .iter()
            .position(|c| c.name == col)
            .unwrap_or_else(|| panic!("no column {col}"));
        &row.values[i]
    }

    fn t(s: &str) -> Val {
        Val::Text(s.into())
    }

    fn issue_of<'a>(report: &'a Report, code: &str) -> &'a crate::report::Issue {
        report
            .issues
            .iter()
            .find(|i| i.code == code)
            .unwrap_or_else(|| panic!("no {code} in {}", report.render_text()))
    }

    const G3_HEADER: &str = "全国地方公共団体コード,ID,名称,名称_カナ,名称_英字,所在地_全国地方公共団体コード,町字ID,\
所在地_連結表記,所在地_都道府県,所在地_市区町村,所在地_町字,所在地_番地以下,建物名等(方書),緯度,経度,標高,電話番号,\
内線番号,連絡先メールアドレス,連絡先FormURL,連絡先備考（その他、SNSなど）,郵便番号,市区町村コード,地方公共団体名,\
災害種別_洪水,災害種別_崖崩れ、土石流及び地滑り,災害種別_高潮,災害種別_地震,災害種別_津波,災害種別_大規模な火事,\
災害種別_内水氾濫,災害種別_火山現象,指定避難所との重複,想定収容人数,対象となる町会・自治会,URL,画像,画像_ライセンス,備考";

    #[test]
    fn column_indices_follow_dataset_order() {
        assert_eq!(SHELTER_COLUMNS[NAME].name, "name");
        assert_eq!(SHELTER_COLUMNS[SOURCE_LAYOUT].name, "source_layout");
        assert_eq!(SHELTER_COLUMNS[FLAGS[1].0].name, "landslide");
        assert_eq!(SHELTER_COLUMNS[FLAGS[7].0].name, "volcano");
    }

    #[test]
    fn g3_row_maps_every_column() {
        let body = format!(
            "{G3_HEADER}\r\n339997,A001,桜台小学校,サクラダイショウガッコウ,Sakuradai Elementary School,339997,0001000,\
岡山県架空市桜台1-2-3 体育館,岡山県,架空市,桜台,1-2-3,体育館,34.661234,133.921234,12.5,086-000-0000,123,\
bousai@example.lg.jp,https://example.lg.jp/form,X @kakuu_bousai,7000001,339997,岡山県架空市,\
1,,1,1,,1,1,,1,350,桜台町内会;川端町内会,https://example.lg.jp/s/a001,https://example.lg.jp/i/a001.jpg,CC BY 4.0,体育館を使用\r\n"
        );
        let (rows, report) = run(&[("339997_evacuation_space.csv", &body)]);
        assert_eq!(rows.len(), 1, "{}", report.render_text());
        assert!(!report.rejected(), "{}", report.render_text());
        assert_eq!(report.warnings, 0, "{}", report.render_text());
        let r = &rows[0];
        assert_eq!(r.key.as_deref(), Some("A001"));
        let expect = [
            ("id", t("A001")),
            ("common_id", Val::Null),
            ("lg_code", t("339997")),
            ("name", t("桜台小学校")),
            ("name_kana", t("サクラダイショウガッコウ")),
            ("name_en", t("Sakuradai Elementary School")),
            ("address", t("岡山県架空市桜台1-2-3 体育館")),
            ("address_pref", t("岡山県")),
            ("address_city", t("架空市")),
            ("address_town", t("桜台")),
            ("address_number", t("1-2-3")),
            ("building", t("体育館")),
            ("town_id", t("0001000")),
            ("address_lg_code", t("339997")),
            ("lat", Val::Float(34.661234)),
            ("lon", Val::Float(133.921234)),
            ("altitude_m", Val::Float(12.5)),
            ("phone", t("086-000-0000")),
            ("phone_ext", t("123")),
            ("email", t("bousai@example.lg.jp")),
            ("form_url", t("https://example.lg.jp/form")),
            ("contact_note", t("X @kakuu_bousai")),
            ("postcode", t("7000001")),
            ("city_code", t("339997")),
            ("lg_name", t("岡山県架空市")),
            ("flood", Val::Bool(true)),
            ("landslide", Val::Bool(false)),
            ("storm_surge", Val::Bool(true)),
            ("earthquake", Val::Bool(true)),
            ("tsunami", Val::Bool(false)),
            ("large_fire", Val::Bool(true)),
            ("inland_flood", Val::Bool(true)),
            ("volcano", Val::Bool(false)),
            ("conditional", Val::Null),
            ("is_emergency_site", Val::Bool(true)),
            ("is_shelter", Val::Bool(true)),
            ("capacity", Val::Int(350)),
            ("communities", t("桜台町内会;川端町内会")),
            ("accepts", Val::Null),
            ("url", t("https://example.lg.jp/s/a001")),
            ("image", t("https://example.lg.jp/i/a001.jpg")),
            ("image_license", t("CC BY 4.0")),
            ("note", t("体育館を使用")),
            ("source_layout", t("ods_g3")),
        ];
        assert_eq!(expect.len(), SHELTER_COLUMNS.len());
        for (col, want) in &expect {
            assert_eq!(val(r, col), want, "column {col}");
        }
        let Some(Geometry::Point(p)) = r.geometry else {
            panic!("no point")
        };
        assert_eq!((p.x(), p.y()), (133.921234, 34.661234));
        assert!(r.raw.contains("\"ID\":\"A001\""));
        assert_eq!(report.count(code::LAYOUT_DETECTED), 1);
        assert_eq!(
            issue_of(&report, "LAYOUT_DETECTED").value.as_deref(),
            Some("ods_g3")
        );
        assert!(report
            .layout
            .as_deref()
            .unwrap_or("")
            .contains("03 指定緊急避難場所一覧"));
        assert_eq!(report.records_accepted, 1);
        assert_eq!(report.count(code::HEADER_ALIASED), 0);
    }

    #[test]
    fn english_name_spelled_名称_英語() {
        let (rows, report) = run(&[(
            "s.csv",
            "ID,名称,名称_英語,緯度,経度\n1,川端公園,Kawabata Park,34.65,133.91\n",
        )]);
        assert_eq!(rows.len(), 1, "{}", report.render_text());
        assert_eq!(val(&rows[0], "name_en"), &t("Kawabata Park"));
        assert_eq!(val(&rows[0], "source_layout"), &t("ods_g3"));
        // Full-width ＩＤ header and value.
        let (rows, report) = run(&[(
            "s.csv",
            "全国地方公共団体コード,ＩＤ,名称,緯度,経度\n339997,Ａ１,川端公園,34.65,133.91\n",
        )]);
        assert_eq!(val(&rows[0], "id"), &t("A1"));
        assert_eq!(report.count(code::FULLWIDTH_NORMALIZED), 1);
    }

    #[test]
    fn g1_2019_file_with_lost_leading_zero() {
        let body = "NO,名称,名称_カナ,住所,方書,緯度,経度,標高,電話番号,内線番号,市区町村コード,都道府県名,市区町村名,\
災害種別_洪水,災害種別_崖崩れ、土石流及び地滑り,災害種別_高潮,災害種別_地震,災害種別_津波,災害種別_大規模な火事,\
災害種別_内水氾濫,災害種別_火山現象,指定避難所との重複,想定収容人数,対象となる町会・自治会,URL,備考\n\
1,中央小学校,チュウオウショウガッコウ,栃木県宇都宮市中央1-1,体育館,36.5551,139.8828,120,028-000-0000,,92011,栃木県,宇都宮市,\
1,,,1,,,,,,500,,,\n";
        let (rows, report) = run(&[("092011_evacuation_space.csv", body)]);
        assert_eq!(rows.len(), 1, "{}", report.render_text());
        let r = &rows[0];
        assert_eq!(val(r, "source_layout"), &t("ods_g1"));
        assert_eq!(val(r, "id"), &t("1"));
        assert_eq!(val(r, "address"), &t("栃木県宇都宮市中央1-1"));
        assert_eq!(val(r, "building"), &t("体育館"));
        assert_eq!(val(r, "city_code"), &t("092011"));
        assert_eq!(val(r, "lg_code"), &t("092011"));
        assert_eq!(val(r, "lg_name"), &t("栃木県宇都宮市"));
        assert_eq!(val(r, "flood"), &Val::Bool(true));
        assert_eq!(val(r, "earthquake"), &Val::Bool(true));
        assert_eq!(val(r, "is_shelter"), &Val::Bool(false));
        assert_eq!(val(r, "is_emergency_site"), &Val::Bool(true));
        assert_eq!(val(r, "capacity"), &Val::Int(500));
        assert_eq!(report.count(code::LG_CODE_ZERO_RESTORED), 1);
        let i = issue_of(&report, "LG_CODE_ZERO_RESTORED");
        assert_eq!(i.column.as_deref(), Some("市区町村コード"));
        assert_eq!(i.repaired.as_deref(), Some("092011"));
        assert!(!report.rejected());
        assert_eq!(
            issue_of(&report, "LAYOUT_DETECTED").value.as_deref(),
            Some("ods_g1")
        );
    }

    const GSI2_HEADER: &str =
        "NO,共通ID,施設・場所名,住所,洪水,崖崩れ、土石流及び地滑り,高潮,地震,津波,大規模な火事,\
内水氾濫,火山現象,指定避難所との住所同一,緯度,経度,備考";
    const GSI1_HEADER: &str = "NO,共通ID,施設・場所名,住所,指定緊急避難場所との住所同一,\
その他市町村長が必要と認める事項,受入対象者,緯度,経度,備考";

    #[test]
    fn gsi_files_take_the_code_from_the_file_name() {
        let b2 = format!(
            "{GSI2_HEADER}\n1,E1310100002201,和泉公園,東京都千代田区神田和泉町1,,,,1,,1,,,,35.6985,139.7765,\n"
        );
        let b1 = format!(
            "{GSI1_HEADER}\n1,E1310100101111,千代田区立和泉小学校,東京都千代田区神田和泉町1-2,1,,要配慮者,35.6975,139.7795,体育館\n"
        );
        let (rows, report) = run(&[("13101_2.csv", &b2), ("shelters_gsi_13101_1.csv", &b1)]);
        assert_eq!(rows.len(), 2, "{}", report.render_text());
        let park = &rows[0];
        assert_eq!(park.key.as_deref(), Some("E1310100002201"));
        assert_eq!(val(park, "lg_code"), &t("131016"));
        assert_eq!(val(park, "city_code"), &Val::Null);
        assert_eq!(val(park, "name"), &t("和泉公園"));
        assert_eq!(val(park, "id"), &t("1"));
        assert_eq!(val(park, "earthquake"), &Val::Bool(true));
        assert_eq!(val(park, "large_fire"), &Val::Bool(true));
        assert_eq!(val(park, "flood"), &Val::Bool(false));
        assert_eq!(val(park, "is_emergency_site"), &Val::Bool(true));
        assert_eq!(val(park, "is_shelter"), &Val::Bool(false));
        assert_eq!(val(park, "source_layout"), &t("gsi_2"));
        let school = &rows[1];
        assert_eq!(val(school, "lg_code"), &t("131016"));
        assert_eq!(val(school, "is_shelter"), &Val::Bool(true));
        assert_eq!(val(school, "is_emergency_site"), &Val::Bool(true));
        assert_eq!(val(school, "accepts"), &t("要配慮者"));
        assert_eq!(val(school, "note"), &t("体育館"));
        assert_eq!(val(school, "source_layout"), &t("gsi_1"));
        assert_eq!(report.count(code::LAYOUT_DETECTED), 2);
        assert!(!report.rejected(), "{}", report.render_text());

        assert_eq!(gsi_file_lg_code("13101_2.csv").as_deref(), Some("131016"));
        assert_eq!(
            gsi_file_lg_code("shelters_gsi_33999_1.csv").as_deref(),
            Some("339997")
        );
        assert_eq!(
            gsi_file_lg_code("up.zip/09201_1.CSV").as_deref(),
            Some("092011")
        );
        assert_eq!(gsi_file_lg_code("mergeFromCity_1.csv"), None);
        assert_eq!(gsi_file_lg_code("2024033999_1.csv"), None);
        assert_eq!(gsi_file_kind("mergeFromCity_2.csv"), Some(b'2'));
    }

    #[test]
    fn gsi_1_rows_merge_into_03_rows_by_common_id_and_by_name() {
        let ods = "共通ID,ID,名称,所在地_連結表記,緯度,経度,災害種別_地震,指定避難所との重複,想定収容人数\n\
E3399900001201,A001,桜台小学校,架空市桜台1-2-3,34.661234,133.921234,1,,350\n\
,A002,川端公民館,架空市川端2-1,34.650000,133.910000,1,1,\n\
,A003,山手集会所,架空市山手5,34.700000,133.950000,1,,\n";
        let gsi1 = format!(
            "{GSI1_HEADER}\n\
1,E3399900001201,桜台小学校体育館,架空市桜台1-2-3,1,,要配慮者,34.6613,133.9213,\n\
2,E3399900002111,川端公民館,架空市川端2-1,1,,,34.6510,133.9105,福祉避難所\n\
3,E3399900003111,山手集会所,架空市山手5-9,,,,34.7200,133.9500,\n"
        );
        for files in [
            vec![
                ("339997_evacuation_space.csv", ods),
                ("33999_1.csv", gsi1.as_str()),
            ],
            vec![
                ("33999_1.csv", gsi1.as_str()),
                ("339997_evacuation_space.csv", ods),
            ],
        ] {
            let (rows, report) = run(&files);
            assert!(!report.rejected(), "{}", report.render_text());
            assert_eq!(rows.len(), 4, "{}", report.render_text());
            // By 共通ID, although the names differ.
            let a = &rows[0];
            assert_eq!(val(a, "id"), &t("A001"));
            assert_eq!(val(a, "name"), &t("桜台小学校"));
            assert_eq!(val(a, "is_shelter"), &Val::Bool(true));
            assert_eq!(val(a, "is_emergency_site"), &Val::Bool(true));
            assert_eq!(val(a, "accepts"), &t("要配慮者"));
            assert_eq!(val(a, "capacity"), &Val::Int(350));
            assert_eq!(val(a, "source_layout"), &t("ods_g3+gsi_1"));
            assert_eq!(val(a, "lg_code"), &t("339997"));
            assert_eq!(a.key.as_deref(), Some("E3399900001201"));
            assert!(a.raw.starts_with('[') && a.raw.contains("要配慮者"));
            // By name within 300 m (about 150 m apart): gains the 共通ID and the note.
            let b = &rows[1];
            assert_eq!(val(b, "id"), &t("A002"));
            assert_eq!(val(b, "common_id"), &t("E3399900002111"));
            assert_eq!(val(b, "note"), &t("福祉避難所"));
            assert_eq!(val(b, "earthquake"), &Val::Bool(true));
            assert_eq!(val(b, "lat"), &Val::Float(34.65));
            assert_eq!(val(b, "source_layout"), &t("ods_g3+gsi_1"));
            // Same name 2 km away: a different place.
            let c = &rows[2];
            assert_eq!(val(c, "id"), &t("A003"));
            assert_eq!(val(c, "is_shelter"), &Val::Bool(false));
            assert_eq!(val(c, "source_layout"), &t("ods_g3"));
            let d = &rows[3];
            assert_eq!(val(d, "name"), &t("山手集会所"));
            assert_eq!(val(d, "is_shelter"), &Val::Bool(true));
            assert_eq!(val(d, "is_emergency_site"), &Val::Bool(false));
            assert_eq!(val(d, "source_layout"), &t("gsi_1"));
            assert_eq!(report.records_accepted, 4);
        }
    }

    #[test]
    fn flags_written_loosely_are_repaired_and_x_is_an_error() {
        let body = "ID,名称,所在地_連結表記,緯度,経度,災害種別_洪水,災害種別_地震,災害種別_津波,指定避難所との重複\n\
A1,一,架空市1,34.66,133.92,0,○,有,1\n\
A2,二,架空市2,34.66,133.93,x,,,\n";
        let (rows, report) = run(&[("s.csv", body)]);
        assert_eq!(rows.len(), 1);
        assert_eq!(val(&rows[0], "flood"), &Val::Bool(false));
        assert_eq!(val(&rows[0], "earthquake"), &Val::Bool(true));
        assert_eq!(val(&rows[0], "tsunami"), &Val::Bool(true));
        assert_eq!(val(&rows[0], "is_shelter"), &Val::Bool(true));
        assert_eq!(report.count(code::FLAG_NORMALIZED), 3);
        let w: Vec<_> = report
            .issues
            .iter()
            .filter(|i| i.code == "FLAG_NORMALIZED")
            .collect();
        assert!(w
            .iter()
            .all(|i| i.severity == crate::report::Severity::Warning && i.loc == Loc::Row(2)));
        assert_eq!(w[1].value.as_deref(), Some("○"));
        assert_eq!(w[1].repaired.as_deref(), Some("1"));
        let e = issue_of(&report, "VALUE_INVALID_FLAG");
        assert_eq!(e.severity, crate::report::Severity::Error);
        assert_eq!(e.loc, Loc::Row(3));
        assert_eq!(e.column.as_deref(), Some("災害種別_洪水"));
        assert_eq!(e.value.as_deref(), Some("x"));
        assert_eq!(report.records_accepted, 1);
    }

    #[test]
    fn wrong_check_digit_is_an_error_naming_the_column() {
        let body = "全国地方公共団体コード,ID,名称,所在地_連結表記,緯度,経度\n339990,A1,桜台小学校,架空市,34.66,133.92\n";
        let (rows, report) = run(&[("s.csv", body)]);
        assert!(rows.is_empty());
        assert_eq!(report.count(code::LG_CODE_CHECK_DIGIT), 1);
        let e = issue_of(&report, "LG_CODE_CHECK_DIGIT");
        assert_eq!(e.column.as_deref(), Some("全国地方公共団体コード"));
        assert_eq!(e.value.as_deref(), Some("339990"));
        assert_eq!(e.loc, Loc::Row(2));
        assert!(e.message_ja.contains("339997"), "{}", e.message_ja);
        assert_eq!(report.records_accepted, 0);
        // Not "no records": the row was there and rejected.
        assert_eq!(report.count(code::NO_RECORDS), 0);
    }

    #[test]
    fn swapped_coordinates_are_repaired() {
        let body = "ID,名称,所在地_連結表記,緯度,経度\nA1,桜台小学校,架空市,133.921234,34.661234\n";
        let (rows, report) = run(&[("s.csv", body)]);
        assert_eq!(rows.len(), 1, "{}", report.render_text());
        assert_eq!(val(&rows[0], "lat"), &Val::Float(34.661234));
        assert_eq!(val(&rows[0], "lon"), &Val::Float(133.921234));
        assert_eq!(report.count(code::LATLON_SWAPPED), 1);
        assert_eq!(issue_of(&report, "LATLON_SWAPPED").loc, Loc::Row(2));
        assert!(!report.rejected());
    }

    #[test]
    fn missing_or_bad_coordinates_reject_the_row() {
        let body = "ID,名称,所在地_連結表記,緯度,経度\n\
A1,桜台小学校,架空市,,\n\
A2,川端公園,架空市,北緯34度,133.92\n\
A3,山手公園,架空市,34.66,\n\
A4,海の公園,架空市,10.5,10.5\n\
A5,,架空市,34.66,133.92\n\
A6,正しい公園,架空市,34.66,133.92\n";
        let (rows, report) = run(&[("s.csv", body)]);
        assert_eq!(rows.len(), 1);
        assert_eq!(val(&rows[0], "id"), &t("A6"));
        assert_eq!(report.count(code::COORD_MISSING), 2);
        let e = issue_of(&report, "COORD_MISSING");
        assert_eq!(
            (e.loc, e.column.as_deref()),
            (Loc::Row(2), Some("緯度/経度"))
        );
        let e = report
            .issues
            .iter()
            .filter(|i| i.code == "COORD_MISSING")
            .nth(1)
            .unwrap();
        assert_eq!((e.loc, e.column.as_deref()), (Loc::Row(4), Some("経度")));
        let e = issue_of(&report, "VALUE_INVALID_NUMBER");
        assert_eq!((e.loc, e.column.as_deref()), (Loc::Row(3), Some("緯度")));
        assert_eq!(issue_of(&report, "COORD_OUTSIDE_JAPAN").loc, Loc::Row(5));
        let e = issue_of(&report, "VALUE_REQUIRED");
        assert_eq!((e.loc, e.column.as_deref()), (Loc::Row(6), Some("名称")));
        assert_eq!(report.records_accepted, 1);
    }

    #[test]
    fn duplicate_id_in_one_file() {
        let body = "ID,名称,所在地_連結表記,緯度,経度\nA1,桜台小学校,架空市,34.66,133.92\nA1,川端公園,架空市,34.65,133.91\n";
        let (rows, report) = run(&[("s.csv", body)]);
        assert_eq!(rows.len(), 1);
        assert_eq!(val(&rows[0], "name"), &t("桜台小学校"));
        let e = issue_of(&report, "DUPLICATE_ID");
        assert_eq!(
            (e.loc, e.column.as_deref(), e.value.as_deref()),
            (Loc::Row(3), Some("ID"), Some("A1"))
        );
        // The same ID in a second 03 file is also refused (keys must be unique).
        let other = "ID,名称,所在地_連結表記,緯度,経度\nA1,山手公園,架空市,34.70,133.95\n";
        let (rows, report) = run(&[
            (
                "a.csv",
                "ID,名称,所在地_連結表記,緯度,経度\nA1,桜台小学校,架空市,34.66,133.92\n",
            ),
            ("b.csv", other),
        ]);
        assert_eq!(rows.len(), 1);
        assert_eq!(issue_of(&report, "DUPLICATE_ID").file, "b.csv");
    }

    #[test]
    fn unrecognised_header_is_one_error_per_file() {
        let body =
            "SAUID,ITEM001,X,Y\n1,桜台小学校,-31234.5,120345.6\n2,川端公園,-31000.0,120000.0\n";
        let (rows, report) = run(&[("shelters.csv", body)]);
        assert!(rows.is_empty());
        assert_eq!(report.count(code::HEADER_UNRECOGNIZED), 1);
        assert_eq!(report.errors, 1, "{}", report.render_text());
        let e = issue_of(&report, "HEADER_UNRECOGNIZED");
        assert_eq!(e.loc, Loc::File);
        // Every column found, with a sample value, and what is missing.
        assert_eq!(
            e.value.as_deref(),
            Some("SAUID=1, ITEM001=桜台小学校, X=-31234.5, Y=120345.6")
        );
        assert!(e.message_ja.contains("名称の列"), "{}", e.message_ja);
        assert!(e.message_en.contains("no name column"), "{}", e.message_en);
        let x = e.expected_ja.as_deref().unwrap_or("");
        for k in [
            "所在地_連結表記",
            "名称_英字",
            "市区町村コード",
            "共通ID",
            "施設・場所名",
            "指定避難所との住所同一",
            "受入対象者",
        ] {
            assert!(x.contains(k), "{k} not in {x}");
        }
        assert!(e
            .expected_en
            .as_deref()
            .unwrap_or("")
            .contains("GSI shelters _1"));
        assert_eq!(report.layout, None);
    }

    #[test]
    fn header_only_file_has_no_records() {
        let (rows, report) = run(&[("s.csv", "ID,名称,所在地_連結表記,緯度,経度\n")]);
        assert!(rows.is_empty());
        assert_eq!(report.count(code::NO_RECORDS), 1);
    }

    #[test]
    fn geojson_points_are_used_when_there_are_no_coordinate_columns() {
        let src = SourceInfo {
            file: "33999_2.geojson".into(),
            format: crate::read::Format::GeoJson,
            fields: vec![],
            transformer: Transformer::new(Crs::from_epsg(6668).unwrap()).unwrap(),
        };
        let f = RawFeature {
            loc: Loc::Feature(1),
            props: vec![
                ("共通ID".into(), Some("E3399900009201".into())),
                ("施設・場所名".into(), Some("港公園".into())),
                ("津波".into(), Some("1".into())),
            ],
            geometry: Some(Geometry::Point(Point::new(133.93, 34.6))),
            derived: 0,
        };
        let mut n = Shelters::default();
        let mut report = Report::new("33999_2.geojson");
        let mut rows = vec![];
        n.feature(&src, f, &mut report, &mut |r| rows.push(r));
        n.finish(&mut report, &mut |r| rows.push(r));
        assert_eq!(rows.len(), 1, "{}", report.render_text());
        assert_eq!(val(&rows[0], "tsunami"), &Val::Bool(true));
        assert_eq!(val(&rows[0], "lat"), &Val::Float(34.6));
        assert_eq!(val(&rows[0], "lg_code"), &t("339997"));
        assert_eq!(val(&rows[0], "source_layout"), &t("gsi_2"));
    }
    #[test]
    fn current_layout_with_an_unnamed_header_cell_and_spaced_thousands() {
        // The national header with one empty header cell in the middle and a capacity written
        // "50,700 " (quoted, thousands separator, trailing space).
        let body = "全国地方公共団体コード,ID,名称,名称_カナ,名称_英字,所在地_連結表記,,緯度,経度,\
災害種別_洪水,災害種別_津波,想定収容人数\n\
339997,A1,中央公園,チュウオウコウエン,Chuo Park,架空市中央1,メモ,34.66,133.92,1,,\"50,700 \"\n";
        let (rows, report) = run(&[("339997_evacuation_space.csv", body)]);
        assert!(!report.rejected(), "{}", report.render_text());
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!(val(r, "source_layout"), &t("ods_g3"));
        assert_eq!(val(r, "name"), &t("中央公園"));
        assert_eq!(val(r, "capacity"), &Val::Int(50700));
        assert_eq!(val(r, "flood"), &Val::Bool(true));
        assert!(r.raw.contains("\"列7\":\"メモ\""), "{}", r.raw);
        assert_eq!(report.count(code::HEADER_EMPTY_NAMED), 1);
    }

    #[test]
    fn older_recommended_layout_without_an_id_column() {
        let body = "NO,都道府県コード又は市区町村コード,名称,住所,緯度,経度,災害種別_洪水,災害種別_地震,指定避難所との重複\n\
1,339997,北小学校,架空市北町1,34.67,133.93,1,1,1\n\
2,339997,南公園,架空市南町2,34.64,133.90,,1,\n";
        let (rows, report) = run(&[("evacuation.csv", body)]);
        assert!(!report.rejected(), "{}", report.render_text());
        assert_eq!(rows.len(), 2);
        assert_eq!(val(&rows[0], "source_layout"), &t("ods_g1"));
        assert_eq!(val(&rows[0], "lg_code"), &t("339997"));
        assert_eq!(val(&rows[0], "address"), &t("架空市北町1"));
        assert_eq!(val(&rows[0], "is_shelter"), &Val::Bool(true));
        assert_eq!(val(&rows[1], "flood"), &Val::Bool(false));
        assert_eq!(val(&rows[1], "earthquake"), &Val::Bool(true));
    }

    #[test]
    fn shelter_list_with_opening_disaster_columns() {
        // 避難所一覧: 開設される災害の種類（…） columns, UTM and area columns kept in raw.
        let body = "施設名,所在地,電話番号,開設される災害の種類（地震・津波）,開設される災害の種類（風水害）,\
開設される災害の種類（土砂災害）,UTMポイント,面積（㎡）,緯度,経度,収容人数\n\
東中学校,架空市東町3-1,086-000-0001,○,○,,53SNU123456,2400,34.6612,133.9301,300人\n\
西公民館,架空市西町1-2,086-000-0002,○,,○,53SNU123457,800,34.6502,133.8901,80人\n";
        let (rows, report) = run(&[("hinanjo_ichiran.csv", body)]);
        assert!(!report.rejected(), "{}", report.render_text());
        assert_eq!(rows.len(), 2);
        let a = &rows[0];
        assert_eq!(val(a, "source_layout"), &t("list_opening"));
        assert_eq!(val(a, "name"), &t("東中学校"));
        assert_eq!(val(a, "address"), &t("架空市東町3-1"));
        assert_eq!(val(a, "phone"), &t("086-000-0001"));
        assert_eq!(val(a, "earthquake"), &Val::Bool(true));
        assert_eq!(val(a, "tsunami"), &Val::Bool(true));
        assert_eq!(val(a, "flood"), &Val::Bool(true));
        assert_eq!(val(a, "storm_surge"), &Val::Bool(true));
        assert_eq!(val(a, "inland_flood"), &Val::Bool(true));
        assert_eq!(val(a, "landslide"), &Val::Bool(false));
        assert_eq!(val(a, "is_shelter"), &Val::Bool(true));
        assert_eq!(val(a, "capacity"), &Val::Int(300));
        assert!(a.raw.contains("53SNU123456"));
        let b = &rows[1];
        assert_eq!(val(b, "flood"), &Val::Bool(false));
        assert_eq!(val(b, "landslide"), &Val::Bool(true));
        assert_eq!(report.count(code::HEADER_ALIASED), 1);
        assert_eq!(report.count(code::UNIT_REMOVED), 2);
        let h = issue_of(&report, "HEADER_ALIASED");
        assert!(
            h.value.as_deref().unwrap_or("").contains("風水害"),
            "{:?}",
            h.value
        );
    }

    #[test]
    fn tsunami_building_list_designates_tsunami() {
        let body = "名称,住所,緯度,経度,電話番号,避難階\n\
港ビル,架空市港町1-1,34.6012,133.9401,086-000-0003,3階\n\
海浜ホテル,架空市港町2-5,34.6020,133.9422,086-000-0004,5階\n";
        let (rows, report) = run(&[("津波避難ビル一覧.csv", body)]);
        assert!(!report.rejected(), "{}", report.render_text());
        assert_eq!(rows.len(), 2);
        for r in &rows {
            assert_eq!(val(r, "tsunami"), &Val::Bool(true));
            assert_eq!(val(r, "is_emergency_site"), &Val::Bool(true));
            assert_eq!(val(r, "flood"), &Val::Bool(false));
            assert_eq!(val(r, "source_layout"), &t("list_tsunami_refuge"));
        }
        assert_eq!(report.count(code::TSUNAMI_FROM_LIST), 2);
        assert!(rows[0].raw.contains("3階"));
    }

    #[test]
    fn minimal_list_is_kept_with_a_warning_that_no_hazard_is_named() {
        let body = "名称,住所,緯度,経度\n一時避難場所 桜公園,架空市桜町,34.66,133.92\n";
        let (rows, report) = run(&[("ichiji.csv", body)]);
        assert!(!report.rejected(), "{}", report.render_text());
        assert_eq!(rows.len(), 1);
        assert_eq!(val(&rows[0], "source_layout"), &t("list"));
        assert_eq!(val(&rows[0], "flood"), &Val::Bool(false));
        assert_eq!(val(&rows[0], "is_emergency_site"), &Val::Bool(false));
        assert_eq!(report.count(code::SHELTER_NO_HAZARD_COLUMNS), 1);
    }

    #[test]
    fn flag_vocabularies_and_the_conditional_value() {
        let body =
            "ID,名称,所在地_連結表記,緯度,経度,災害種別_洪水,災害種別_崖崩れ、土石流及び地滑り,\
災害種別_高潮,災害種別_地震,災害種別_津波,災害種別_大規模な火事\n\
A1,一,架空市1,34.66,133.92,○,△,×,-,−,有\n\
A2,二,架空市2,34.66,133.93,True,False,Yes,No,無,\n";
        let (rows, report) = run(&[("s.csv", body)]);
        assert!(!report.rejected(), "{}", report.render_text());
        assert_eq!(rows.len(), 2);
        let a = &rows[0];
        assert_eq!(val(a, "flood"), &Val::Bool(true));
        // Conditional is neither yes nor no.
        assert_eq!(val(a, "landslide"), &Val::Null);
        assert_eq!(val(a, "conditional"), &t("landslide"));
        assert_eq!(val(a, "storm_surge"), &Val::Bool(false));
        assert_eq!(val(a, "earthquake"), &Val::Bool(false));
        assert_eq!(val(a, "tsunami"), &Val::Bool(false));
        assert_eq!(val(a, "large_fire"), &Val::Bool(true));
        let b = &rows[1];
        assert_eq!(val(b, "flood"), &Val::Bool(true));
        assert_eq!(val(b, "landslide"), &Val::Bool(false));
        assert_eq!(val(b, "storm_surge"), &Val::Bool(true));
        assert_eq!(val(b, "earthquake"), &Val::Bool(false));
        assert_eq!(val(b, "tsunami"), &Val::Bool(false));
        assert_eq!(val(b, "conditional"), &Val::Null);
        assert_eq!(report.count(code::FLAG_CONDITIONAL), 1);
        assert_eq!(
            issue_of(&report, "FLAG_CONDITIONAL").value.as_deref(),
            Some("△")
        );
    }

    #[test]
    fn export_quirks_ckan_id_user_prefix_lon_first_units_and_excel_numbers() {
        let body = "_id,USER_施設名称,USER_所在地,経度,緯度,USER_電話番号,USER_収容人数,USER_標高,\
災害種別_洪水,災害種別_津波\n\
1,川端小学校,架空市川端1,133.9101,34.6501,4.00E+12,16人,9ｍ,1,\n";
        let (rows, report) = run(&[("export.csv", body)]);
        assert!(!report.rejected(), "{}", report.render_text());
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!(val(r, "name"), &t("川端小学校"));
        assert_eq!(val(r, "address"), &t("架空市川端1"));
        assert_eq!(val(r, "lat"), &Val::Float(34.6501));
        assert_eq!(val(r, "lon"), &Val::Float(133.9101));
        assert_eq!(val(r, "capacity"), &Val::Int(16));
        assert_eq!(val(r, "altitude_m"), &Val::Float(9.0));
        assert_eq!(val(r, "phone"), &t("4.00E+12"));
        assert_eq!(val(r, "flood"), &Val::Bool(true));
        assert_eq!(report.count(code::EXCEL_EXPONENT), 1);
        assert_eq!(report.count(code::LATLON_SWAPPED), 0);
        assert!(r.raw.contains("\"_id\":\"1\""));
    }

    #[test]
    fn english_headers_of_a_citys_own_design() {
        let body = "name,name_en,address,latitude,longitude,flood_L1,flood_L2,tsunami,landslide,capacity\n\
桜台小学校,Sakuradai ES,架空市桜台1,34.6612,133.9212,1,1,0,1,350\n\
港公民館,Minato CC,架空市港町3,34.6010,133.9402,0,1,1,0,120\n\
山手集会所,Yamate Hall,架空市山手5,34.7000,133.9500,0,0,0,△,40\n";
        let (rows, report) = run(&[("shelters_en.csv", body)]);
        assert!(!report.rejected(), "{}", report.render_text());
        assert_eq!(rows.len(), 3);
        assert_eq!(val(&rows[0], "name_en"), &t("Sakuradai ES"));
        assert_eq!(val(&rows[0], "flood"), &Val::Bool(true));
        assert_eq!(val(&rows[0], "landslide"), &Val::Bool(true));
        assert_eq!(val(&rows[0], "tsunami"), &Val::Bool(false));
        // flood_L2 alone still designates for flood.
        assert_eq!(val(&rows[1], "flood"), &Val::Bool(true));
        assert_eq!(val(&rows[1], "tsunami"), &Val::Bool(true));
        assert_eq!(val(&rows[1], "is_emergency_site"), &Val::Bool(true));
        assert_eq!(val(&rows[2], "landslide"), &Val::Null);
        assert_eq!(val(&rows[2], "conditional"), &t("landslide"));
        assert_eq!(val(&rows[2], "capacity"), &Val::Int(40));
        assert_eq!(val(&rows[0], "source_layout"), &t("list"));
    }

    #[test]
    fn geojson_points_with_opaque_property_names() {
        let src = SourceInfo {
            file: "hinan.geojson".into(),
            format: crate::read::Format::GeoJson,
            fields: vec![],
            transformer: Transformer::new(Crs::from_epsg(6668).unwrap()).unwrap(),
        };
        let mut n = Shelters::default();
        let mut report = Report::new("hinan.geojson");
        let mut rows = vec![];
        for (i, name) in ["北公園", "南広場"].iter().enumerate() {
            let f = RawFeature {
                loc: Loc::Feature(i as u64 + 1),
                props: vec![
                    ("NAME".into(), Some(name.to_string())),
                    ("ITEM004".into(), Some("1".into())),
                ],
                geometry: Some(Geometry::Point(Point::new(133.93 + i as f64 * 0.01, 34.6))),
                derived: 0,
            };
            n.feature(&src, f, &mut report, &mut |r| rows.push(r));
        }
        n.finish(&mut report, &mut |r| rows.push(r));
        assert!(!report.rejected(), "{}", report.render_text());
        assert_eq!(rows.len(), 2);
        assert_eq!(val(&rows[1], "name"), &t("南広場"));
        assert_eq!(val(&rows[1], "lon"), &Val::Float(133.94));
        assert!(rows[0].raw.contains("ITEM004"));
        assert_eq!(report.count(code::SHELTER_NO_HAZARD_COLUMNS), 1);
    }

    #[test]
    fn five_digit_codes_read_both_ways_are_decided_by_the_prefecture_or_refused() {
        // 13102 is 131024 (中央区, 東京都) or 013102 (a Hokkaido code that lost its zero).
        let body = "NO,名称,住所,市区町村コード,緯度,経度,災害種別_洪水\n\
1,月島公園,東京都中央区月島1,13102,35.66,139.78,1\n";
        let (rows, report) = run(&[("tokyo.csv", body)]);
        assert_eq!(rows.len(), 1, "{}", report.render_text());
        assert_eq!(val(&rows[0], "city_code"), &t("131024"));
        let body = "NO,名称,住所,市区町村コード,緯度,経度,災害種別_洪水\n\
1,月島公園,中央区月島1,13102,35.66,139.78,1\n";
        let (rows, report) = run(&[("unsure.csv", body)]);
        assert!(rows.is_empty());
        let e = issue_of(&report, "LG_CODE_AMBIGUOUS");
        assert_eq!(e.column.as_deref(), Some("市区町村コード"));
        let x = e.expected_ja.as_deref().unwrap_or("");
        assert!(
            x.contains("013102")
                && x.contains("131024")
                && x.contains("北海道")
                && x.contains("東京都"),
            "{x}"
        );
    }
}
