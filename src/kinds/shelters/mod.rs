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
mod tests;
