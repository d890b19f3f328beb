//! The validation report a clerk acts on.
//!
//! Every problem found while reading and normalising a file becomes an [`Issue`]: where it is
//! (file, row or feature, column), what was there, what was expected, a stable machine code and a
//! message in Japanese and English. Errors reject the file; warnings record a repair that was made;
//! infos record what was detected (encoding, CRS). The codes and their base messages live in one
//! table ([`CODES`]) so they stay stable and translatable.

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// How bad an issue is. Only `Error` rejects the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The file is rejected.
    Error,
    /// A repair was made; the data is accepted as repaired.
    Warning,
    /// Something detected, for the record.
    Info,
}

/// One entry of the code table: a stable code, its severity and base messages.
#[derive(Debug)]
pub struct Code {
    /// Stable identifier, e.g. `LG_CODE_CHECK_DIGIT`.
    pub id: &'static str,
    /// Severity of every issue with this code.
    pub severity: Severity,
    /// Base message in Japanese.
    pub ja: &'static str,
    /// Base message in English.
    pub en: &'static str,
}

macro_rules! codes {
    ($($name:ident, $sev:ident, $ja:literal, $en:literal;)*) => {
        /// The stable issue codes.
        pub mod code {
            use super::{Code, Severity};
            $(
                #[doc = $en]
                pub const $name: &Code = &Code { id: stringify!($name), severity: Severity::$sev, ja: $ja, en: $en };
            )*
        }
        /// Every code, for documentation and tests.
        pub const CODES: &[&Code] = &[$(code::$name),*];
    };
}

codes! {
    ENCODING_DETECTED, Info, "文字コードを判定しました", "Text encoding detected";
    CRS_DETECTED, Info, "座標参照系を判定しました", "Coordinate reference system detected";
    LAYOUT_DETECTED, Info, "ファイルの様式を判定しました", "File layout detected";
    COLUMN_IGNORED, Info, "この列は取り込みに使いません", "Column not used by this dataset";
    BOM_REMOVED, Warning, "先頭のBOM（バイト順マーク）を取り除きました", "Removed the byte-order mark at the start of the file";
    EMPTY_ROWS_SKIPPED, Warning, "空の行を読み飛ばしました", "Skipped empty rows";
    TRAILING_COLUMNS_IGNORED, Warning, "見出しのない末尾の空の列を無視しました", "Ignored trailing empty columns without a header";
    FULLWIDTH_NORMALIZED, Warning, "全角の数字・記号を半角に直しました", "Converted full-width digits and signs to half-width";
    WAREKI_CONVERTED, Warning, "和暦の日付を西暦（YYYY-MM-DD）に直しました", "Converted a Japanese-era date to YYYY-MM-DD";
    DATE_REFORMATTED, Warning, "日付をYYYY-MM-DD形式に直しました", "Reformatted a date to YYYY-MM-DD";
    LG_CODE_ZERO_RESTORED, Warning, "先頭の0が欠けていた全国地方公共団体コードを補いました", "Restored the leading zero of a local government code";
    LG_CODE_AMBIGUOUS, Error, "5桁の団体コードが、先頭の0が欠けた6桁のコードとも、検査数字のない5桁のコードとも読めます", "A 5-digit local government code reads both as a 6-digit code that lost its leading zero and as a 5-digit code without its check digit";
    LG_CODE_CHECK_DIGIT_ADDED, Warning, "5桁の団体コードに検査数字を付けて6桁にしました", "Added the check digit to a 5-digit local government code";
    FLAG_NORMALIZED, Warning, "フラグの値を「1」または空欄として読みました", "Read a flag value as 1 or empty";
    LATLON_SWAPPED, Warning, "緯度と経度が入れ替わっていたので戻しました", "Latitude and longitude were swapped; swapped them back";
    RING_CLOSED, Warning, "閉じていない輪郭を閉じました", "Closed an unclosed polygon ring";
    RING_WINDING_FIXED, Warning, "輪郭の向きを直しました", "Fixed the winding order of polygon rings";
    POLYGON_REPAIRED, Warning, "自己交差などの不正な図形を修正しました", "Repaired an invalid polygon (self-intersection)";
    PARTS_DISSOLVED, Warning, "同じコードの複数の図形を1つにまとめました", "Merged several parts that share one code";
    LENGTH_MISMATCH, Warning, "実延長と図形から求めた延長が5%を超えて違います", "Recorded length differs from the geometry's length by more than 5 %";
    CRS_APPROXIMATE, Warning, "旧日本測地系からの変換は3パラメータによる近似です（数m程度の誤差）", "Tokyo datum converted with a 3-parameter shift: approximate (metres)";
    CRS_ASSUMED, Warning, "座標参照系の指定がないため既定の系とみなしました", "No coordinate reference system given; assumed the default";
    DUPLICATE_FEATURE_SKIPPED, Warning, "同一の行が重複していたので1件にしました", "Skipped an exact duplicate record";
    CODE_MISSING_KEPT, Warning, "コードのない区域（所属未定地など）をコードなしで取り込みました", "Kept an area that has no code (e.g. 所属未定地) without a code";
    NAME_MISSING, Warning, "名称が空欄のため、名称なしで取り込みました", "The name is empty; the area was kept without a name";
    DEPTH_UNKNOWN, Warning, "浸水深が分からないため、浸水深「不明」の区域として取り込みました", "The depth is unknown: the zone was kept with depth unknown";
    VALUE_UNREAD_KEPT, Warning, "値の意味を判定できないため「不明」として取り込み、元の値はrawに残しました", "Could not tell what the value means: stored as unknown, the original value kept in raw";
    ENCODING_INVALID, Error, "文字コードを判定できません（UTF-8でもShift_JISでもありません）", "Cannot decode the text: neither UTF-8 nor Shift_JIS (CP932)";
    CSV_MALFORMED, Error, "CSVの形式が壊れています", "Malformed CSV";
    HEADER_ALIASED, Info, "見出しを標準の列名に読み替えました（見出し → 列名）", "Read variant headers as the standard columns (header → column)";
    HEADER_EMPTY_NAMED, Warning, "見出しが空の列に仮の名前を付けて読みました（値は元データとして保存）", "Named a column whose header is empty by its position (its values are kept with the raw record)";
    SHELTER_NO_HAZARD_COLUMNS, Warning, "災害種別の列がありません。このままでは、どの災害の避難先としても案内されません。列の対応付けで指定してください", "No hazard (災害種別) columns: residents will not be sent here for any hazard until the columns are mapped";
    TSUNAMI_FROM_LIST, Warning, "ファイル名または見出しから津波避難ビル・施設の一覧と判断し、津波の避難先として登録しました", "Taken as a list of tsunami evacuation buildings from its file name or headers, so designated for tsunami";
    FLAG_CONDITIONAL, Warning, "条件付き（△など）の値を「該当」とも「該当なし」ともせず、条件付きとして残しました", "Kept a conditional value (△ and the like) as conditional, neither yes nor no";
    UNIT_REMOVED, Warning, "値に付いた単位を取り除いて数値として読みました", "Read the number without the unit written in the value";
    EXCEL_EXPONENT, Warning, "Excelの指数表記（例: 4.00E+12）のため桁が失われている可能性があります。書かれたとおりに保存しました。元のファイルを文字列として保存し直してください", "Excel exponent form (e.g. 4.00E+12): digits may have been lost. Kept as written; re-save the source with the column as text";
    TOO_MANY_RECORDS, Error, "1回の取り込みで扱える件数を超えています", "More records than one upload may hold";
    MAPPING_APPLIED, Info, "列の対応付けを適用しました", "Applied a column mapping";
    MAPPING_UNFIT, Error, "指定された列の対応付けが、どのファイルの見出しにも合いません（対応付けにある列がファイルにありません）", "The column mapping given fits none of the files (it names columns the files do not have)";
    HEADER_UNRECOGNIZED, Error, "見出し行からデータの様式を判定できません", "Cannot recognise the layout from the header";
    COLUMN_MISSING, Error, "必要な列がありません", "A required column is missing";
    VALUE_REQUIRED, Error, "必須の値が空欄です", "A required value is empty";
    VALUE_INVALID_NUMBER, Error, "数値として読めません", "Not a valid number";
    VALUE_INVALID_DATE, Error, "日付として読めません", "Not a valid date";
    VALUE_INVALID_FLAG, Error, "フラグは「1」か空欄で記入してください", "A flag must be 1 or empty";
    VALUE_OUT_OF_RANGE, Error, "値が範囲外です", "Value out of range";
    VALUE_INVALID_CODE, Error, "コード表にない値です", "Value not in the code list";
    LG_CODE_INVALID, Error, "全国地方公共団体コードの形式が正しくありません", "Malformed local government code";
    LG_CODE_CHECK_DIGIT, Error, "全国地方公共団体コードの検査数字が正しくありません", "Wrong check digit in the local government code";
    DEPTH_BAND_UNPARSEABLE, Error, "浸水深の区分を読み取れません", "Cannot read the depth band";
    DUPLICATE_ID, Error, "IDが重複しています", "Duplicate ID";
    UNKNOWN_SHELTER, Error, "対応する避難所が見つかりません", "No shelter with this ID";
    ROUTE_WITHOUT_GEOMETRY, Error, "この路線の図形（線）がありません", "No line geometry for this route";
    GEOMETRY_WITHOUT_ROUTE, Error, "この図形に対応する台帳の行がありません", "No ledger row for this line";
    COORD_MISSING, Error, "緯度・経度がありません", "Latitude/longitude missing";
    COORD_OUTSIDE_JAPAN, Error, "座標が日本の範囲外です", "Coordinates outside Japan";
    GEOMETRY_MISSING, Error, "図形がありません", "Geometry missing";
    GEOMETRY_WRONG_TYPE, Error, "このデータに合わない図形の種類です", "Wrong geometry type for this dataset";
    GEOMETRY_INVALID, Error, "図形が不正で修正できません", "Invalid geometry that cannot be repaired";
    CRS_UNSUPPORTED, Error, "対応していない座標参照系です", "Unsupported coordinate reference system";
    CRS_MISSING, Error, "座標参照系が分かりません（.prjがありません）", "Unknown coordinate reference system (no .prj)";
    GEOJSON_INVALID, Error, "GeoJSONとして読めません", "Not valid GeoJSON";
    SHAPEFILE_INVALID, Error, "シェープファイルとして読めません", "Not a valid Shapefile";
    ARCHIVE_REFUSED, Error, "ZIPファイルを安全に展開できません", "The zip archive cannot be opened safely";
    FORMAT_UNKNOWN, Error, "対応していないファイル形式です（CSV・GeoJSON・ZIP圧縮のシェープファイル）", "Unsupported file format (CSV, GeoJSON or zipped Shapefile)";
    ADDRESS_POSITION_MISSING, Warning, "位置参照ファイルに代表点がないため、座標なしで取り込みました（住所検索ではより大きな単位の代表点を使います）", "No representative point in the position file: kept without a point (address search falls back to the block or 町字)";
    ADDRESS_BASE_MISSING, Warning, "位置参照ファイルの行に対応する本体ファイル（名称・番号）の行がないため、IDと代表点だけで取り込みました", "A position row has no row in the base file (names, numbers): kept with its ids and point only";
    ADDRESS_ID_PADDED, Warning, "先頭の0が欠けていたIDを桁数どおりに補いました", "Restored the leading zeros of an id to its fixed width";
    ADDRESS_SRID_ASSUMED, Warning, "代表点_座標参照系が空欄のため、JGD2011（EPSG:6668）とみなしました", "rep_srid is empty: the point was taken as JGD2011 (EPSG:6668)";
    NO_RECORDS, Error, "データが1件もありません", "The file holds no records";
    IO_ERROR, Error, "ファイルを読めません", "Cannot read the file";
}

/// Where in a file an issue is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Default, schemars::JsonSchema)]
#[serde(tag = "kind", content = "n", rename_all = "lowercase")]
pub enum Loc {
    /// The file as a whole.
    #[default]
    File,
    /// A CSV row numbered as a spreadsheet shows it (the header is row 1).
    Row(u64),
    /// A GeoJSON feature or Shapefile record, 1-based.
    Feature(u64),
}

impl Loc {
    fn ja(self) -> String {
        match self {
            Loc::File => String::new(),
            Loc::Row(n) => format!("{n}行目"),
            Loc::Feature(n) => format!("{n}番目の地物"),
        }
    }
    fn en(self) -> String {
        match self {
            Loc::File => String::new(),
            Loc::Row(n) => format!("row {n}"),
            Loc::Feature(n) => format!("feature {n}"),
        }
    }
}

/// One located problem or repair.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct Issue {
    /// Error, warning or info.
    pub severity: Severity,
    /// Stable code from [`CODES`].
    #[schemars(schema_with = "code_schema")]
    pub code: &'static str,
    /// File name as uploaded (for zip members: `archive.zip/member.dbf`).
    pub file: String,
    /// Row or feature.
    pub loc: Loc,
    /// Column (header name) concerned, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// The value found, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// What was expected, Japanese.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_ja: Option<String>,
    /// What was expected, English.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_en: Option<String>,
    /// For repairs: the value after the repair.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repaired: Option<String>,
    /// Full message, Japanese.
    pub message_ja: String,
    /// Full message, English.
    pub message_en: String,
}

/// An issue's `code` in the API description: one of [`CODES`].
fn code_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let ids: Vec<&str> = CODES.iter().map(|c| c.id).collect();
    schemars::json_schema!({"type": "string", "enum": ids})
}

/// Builder for an [`Issue`]; finished by [`Report::push`].
#[derive(Debug)]
pub struct IssueBuilder {
    code: &'static Code,
    loc: Loc,
    column: Option<String>,
    value: Option<String>,
    expected: Option<(String, String)>,
    repaired: Option<String>,
    detail: Option<(String, String)>,
}

/// Start an issue with a code from [`code`].
pub fn issue(code: &'static Code) -> IssueBuilder {
    IssueBuilder {
        code,
        loc: Loc::File,
        column: None,
        value: None,
        expected: None,
        repaired: None,
        detail: None,
    }
}

impl IssueBuilder {
    /// Severity of the code.
    pub fn severity(&self) -> Severity {
        self.code.severity
    }
    /// Row or feature.
    pub fn at(mut self, loc: Loc) -> Self {
        self.loc = loc;
        self
    }
    /// Column concerned.
    pub fn column(mut self, c: impl Into<String>) -> Self {
        self.column = Some(c.into());
        self
    }
    /// Value found.
    pub fn value(mut self, v: impl Into<String>) -> Self {
        self.value = Some(v.into());
        self
    }
    /// What was expected, in Japanese and English.
    pub fn expected(mut self, ja: impl Into<String>, en: impl Into<String>) -> Self {
        self.expected = Some((ja.into(), en.into()));
        self
    }
    /// Value after a repair.
    pub fn repaired(mut self, v: impl Into<String>) -> Self {
        self.repaired = Some(v.into());
        self
    }
    /// Extra detail appended to the base message, in Japanese and English.
    pub fn detail(mut self, ja: impl Into<String>, en: impl Into<String>) -> Self {
        self.detail = Some((ja.into(), en.into()));
        self
    }
}

/// Counts per code, and the first issues of each code in detail.
#[derive(Clone, Debug, Default, Serialize, schemars::JsonSchema)]
pub struct Report {
    /// File the report is about.
    pub file: String,
    /// Detected format (csv, geojson, shapefile).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Detected encoding, for text formats.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// Detected source CRS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crs: Option<String>,
    /// Detected layout (e.g. `03 指定緊急避難場所一覧 (G3)`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layout: Option<String>,
    /// Records read from the file.
    pub records_read: u64,
    /// Records accepted into the dataset.
    pub records_accepted: u64,
    /// Number of issues by severity.
    pub errors: u64,
    /// Number of warnings (repairs).
    pub warnings: u64,
    /// Number of infos.
    pub infos: u64,
    /// Issue count by code, including those not kept in `issues`.
    pub counts: BTreeMap<&'static str, u64>,
    /// The issues, at most [`Report::KEEP_PER_CODE`] per code.
    pub issues: Vec<Issue>,
    /// Each source file's columns (with the first record's values) and the column mapping
    /// applied to it, so the console can offer a mapping form and the version history shows
    /// how the file was read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileColumns>,
}

/// The columns of one source file.
#[derive(Clone, Debug, Default, Serialize, schemars::JsonSchema)]
pub struct FileColumns {
    /// File name as shown to the clerk.
    pub file: String,
    /// [`crate::mapping::header_key`] of its header set.
    pub header_key: String,
    /// Header names (NFKC) in file order.
    pub headers: Vec<String>,
    /// The first record's value under each header.
    pub samples: Vec<Option<String>>,
    /// The mapping applied, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mapping: Option<crate::mapping::Mapping>,
    /// Where the mapping came from: `given` (this upload) or `saved` (an earlier one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mapping_source: Option<&'static str>,
}

impl Report {
    /// Detailed issues kept per code; the rest are only counted, so a million repaired polygons
    /// do not make a million-line report.
    pub const KEEP_PER_CODE: u64 = 200;

    /// A new, empty report about `file`.
    pub fn new(file: impl Into<String>) -> Self {
        Report {
            file: file.into(),
            ..Report::default()
        }
    }

    /// Record an issue about `file` (which may differ from the report's file for multi-file
    /// datasets and zip members).
    pub fn push_in(&mut self, file: &str, b: IssueBuilder) {
        let code = b.code;
        let n = self.counts.entry(code.id).or_insert(0);
        *n += 1;
        match code.severity {
            Severity::Error => self.errors += 1,
            Severity::Warning => self.warnings += 1,
            Severity::Info => self.infos += 1,
        }
        if *n > Self::KEEP_PER_CODE {
            return;
        }
        let (mut ja, mut en) = (String::new(), String::new());
        let (lja, len) = (b.loc.ja(), b.loc.en());
        let _ = write!(ja, "{file}");
        let _ = write!(en, "{file}");
        if !lja.is_empty() {
            let _ = write!(ja, " {lja}");
            let _ = write!(en, ", {len}");
        }
        if let Some(c) = &b.column {
            let _ = write!(ja, " 列「{c}」");
            let _ = write!(en, ", column \"{c}\"");
        }
        let _ = write!(ja, ": {}", code.ja);
        let _ = write!(en, ": {}", code.en);
        if let Some((dj, de)) = &b.detail {
            let _ = write!(ja, "（{dj}）");
            let _ = write!(en, " ({de})");
        }
        if let Some(v) = &b.value {
            let _ = write!(ja, "。値: 「{v}」");
            let _ = write!(en, ". Found: \"{v}\"");
        }
        if let Some(r) = &b.repaired {
            let _ = write!(ja, " → 「{r}」");
            let _ = write!(en, " -> \"{r}\"");
        }
        if let Some((xj, xe)) = &b.expected {
            let _ = write!(ja, "。正しい形: {xj}");
            let _ = write!(en, ". Expected: {xe}");
        }
        self.issues.push(Issue {
            severity: code.severity,
            code: code.id,
            file: file.to_string(),
            loc: b.loc,
            column: b.column,
            value: b.value,
            expected_ja: b.expected.as_ref().map(|e| e.0.clone()),
            expected_en: b.expected.map(|e| e.1),
            repaired: b.repaired,
            message_ja: ja,
            message_en: en,
        });
    }

    /// Record an issue about the report's own file.
    pub fn push(&mut self, b: IssueBuilder) {
        let file = self.file.clone();
        self.push_in(&file, b);
    }

    /// True when at least one error was recorded: the file must be rejected.
    pub fn rejected(&self) -> bool {
        self.errors > 0
    }

    /// Number of issues recorded with `code`.
    pub fn count(&self, code: &Code) -> u64 {
        self.counts.get(code.id).copied().unwrap_or(0)
    }

    /// The issues in the order a clerk should read them: errors first, then by position.
    pub fn sorted_issues(&self) -> Vec<&Issue> {
        let mut v: Vec<&Issue> = self.issues.iter().collect();
        v.sort_by_key(|i| (i.severity, i.file.clone(), loc_key(i.loc)));
        v
    }

    /// A plain-text rendering, Japanese first then English, one issue per line pair.
    pub fn render_text(&self) -> String {
        let mut s = String::new();
        let verdict = if self.rejected() {
            "取り込めません（エラーあり） / REJECTED"
        } else {
            "取り込みできます / ACCEPTED"
        };
        let _ = writeln!(s, "検証結果 / Validation report: {} — {verdict}", self.file);
        for (label, v) in [
            ("形式 / format", &self.format),
            ("文字コード / encoding", &self.encoding),
            ("座標参照系 / CRS", &self.crs),
            ("様式 / layout", &self.layout),
        ] {
            if let Some(v) = v {
                let _ = writeln!(s, "  {label}: {v}");
            }
        }
        let _ = writeln!(
            s,
            "  件数 / records: 読込 read {} · 採用 accepted {} · エラー errors {} · 修正 warnings {}",
            self.records_read, self.records_accepted, self.errors, self.warnings
        );
        for i in self.sorted_issues() {
            if i.severity == Severity::Info {
                continue;
            }
            let tag = match i.severity {
                Severity::Error => "エラー ERROR",
                Severity::Warning => "修正 WARN",
                Severity::Info => "情報 INFO",
            };
            let _ = writeln!(s, "[{tag}] {} {}", i.code, i.message_ja);
            let _ = writeln!(s, "    {}", i.message_en);
        }
        for (code, n) in &self.counts {
            if *n > Self::KEEP_PER_CODE {
                let _ = writeln!(
                    s,
                    "  {code}: ほか {} 件 / {} more not listed",
                    n - Self::KEEP_PER_CODE,
                    n - Self::KEEP_PER_CODE
                );
            }
        }
        s
    }
}

fn loc_key(l: Loc) -> (u8, u64) {
    match l {
        Loc::File => (0, 0),
        Loc::Row(n) => (1, n),
        Loc::Feature(n) => (2, n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_bilingual() {
        let mut seen = std::collections::HashSet::new();
        for c in CODES {
            assert!(seen.insert(c.id), "duplicate code {}", c.id);
            assert!(!c.ja.is_empty() && !c.en.is_empty());
            assert!(!c.ja.is_ascii(), "{} ja not Japanese", c.id);
        }
    }

    #[test]
    fn message_names_file_row_column_value_and_expectation() {
        let mut r = Report::new("shelters.csv");
        r.push(
            issue(code::LG_CODE_CHECK_DIGIT)
                .at(Loc::Row(5))
                .column("全国地方公共団体コード")
                .value("339990")
                .expected("339997", "339997"),
        );
        assert!(r.rejected());
        let i = &r.issues[0];
        assert_eq!(
            i.message_ja,
            "shelters.csv 5行目 列「全国地方公共団体コード」: 全国地方公共団体コードの検査数字が正しくありません。値: 「339990」。正しい形: 339997"
        );
        assert!(i.message_en.starts_with(
            "shelters.csv, row 5, column \"全国地方公共団体コード\": Wrong check digit"
        ));
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["issues"][0]["loc"]["kind"], "row");
        assert_eq!(json["issues"][0]["loc"]["n"], 5);
    }

    #[test]
    fn keeps_only_first_issues_per_code_but_counts_all() {
        let mut r = Report::new("f.geojson");
        for n in 0..(Report::KEEP_PER_CODE + 50) {
            r.push(issue(code::RING_CLOSED).at(Loc::Feature(n + 1)));
        }
        assert_eq!(r.issues.len() as u64, Report::KEEP_PER_CODE);
        assert_eq!(r.count(code::RING_CLOSED), Report::KEEP_PER_CODE + 50);
        assert_eq!(r.warnings, Report::KEEP_PER_CODE + 50);
        assert!(!r.rejected());
        assert!(r.render_text().contains("50 more not listed"));
    }
}
