//! Stockpiles (備蓄品) per shelter, in our own header-driven layout (no national standard
//! exists): `全国地方公共団体コード, ID, 避難所_共通ID, 避難所_ID, 保管場所名称, 保管場所種別,
//! 品目分類, 品名, 規格, 数量, 単位, 賞味期限, 更新年月日, 緯度, 経度, 備考`.
//!
//! Each row must name a shelter of the published shelters version (by 避難所_ID or
//! 避難所_共通ID). Rows stream out as they come; no geometry.

use super::shelters::{code_text, column_index, headers_found};
use super::{Cells, Context, Normalizer, Out, Row};
use crate::dataset::{Val, STOCKPILE_COLUMNS};
use crate::read::{point_from_latlon, RawFeature, SourceInfo};
use crate::report::{code, issue, Report};
use crate::text;
use std::collections::{HashMap, HashSet};

const LG_CODE: usize = column_index(STOCKPILE_COLUMNS, "lg_code");
const ID: usize = column_index(STOCKPILE_COLUMNS, "id");
const SHELTER_COMMON_ID: usize = column_index(STOCKPILE_COLUMNS, "shelter_common_id");
const SHELTER_ID: usize = column_index(STOCKPILE_COLUMNS, "shelter_id");
const SHELTER_FID: usize = column_index(STOCKPILE_COLUMNS, "shelter_fid");
const LOCATION_NAME: usize = column_index(STOCKPILE_COLUMNS, "location_name");
const LOCATION_TYPE: usize = column_index(STOCKPILE_COLUMNS, "location_type");
const CATEGORY: usize = column_index(STOCKPILE_COLUMNS, "category");
const ITEM: usize = column_index(STOCKPILE_COLUMNS, "item");
const SPEC: usize = column_index(STOCKPILE_COLUMNS, "spec");
const QUANTITY: usize = column_index(STOCKPILE_COLUMNS, "quantity");
const UNIT: usize = column_index(STOCKPILE_COLUMNS, "unit");
const EXPIRY: usize = column_index(STOCKPILE_COLUMNS, "expiry");
const UPDATED_ON: usize = column_index(STOCKPILE_COLUMNS, "updated_on");
const LAT: usize = column_index(STOCKPILE_COLUMNS, "lat");
const LON: usize = column_index(STOCKPILE_COLUMNS, "lon");
const NOTE: usize = column_index(STOCKPILE_COLUMNS, "note");

/// 品目分類, the controlled vocabulary.
pub const CATEGORIES: [&str; 6] = [
    "食料",
    "飲料水",
    "生活必需品",
    "衛生用品",
    "資機材",
    "医薬品",
];

const SHELTER_ID_KEY: &str = "避難所_ID";
const SHELTER_COMMON_KEY: &str = "避難所_共通ID";
const ITEM_KEY: &str = "品名";
const QUANTITY_KEY: &str = "数量";
const EXPIRY_KEYS: &[&str] = &["賞味期限", "使用期限", "賞味期限又は使用期限"];
const LAT_KEY: &str = "緯度";
const LON_KEY: &str = "経度";

const LAYOUT: &str = "stockpile";
const LAYOUT_JA: &str = "避難所備蓄品一覧（machimap様式）";
const LAYOUT_EN: &str = "shelter stockpile list (machimap layout)";

/// Normaliser for stockpile rows, linked to the published shelters in `ctx`.
pub struct Stockpile {
    ctx: Context,
    /// Per file: whether its header is usable.
    files: HashMap<String, bool>,
    ids: HashSet<String>,
    emitted: u64,
}

impl Stockpile {
    /// A normaliser linking rows to the shelters of `ctx`.
    pub fn new(ctx: Context) -> Self {
        Stockpile {
            ctx,
            files: HashMap::new(),
            ids: HashSet::new(),
            emitted: 0,
        }
    }

    fn start_file(src: &SourceInfo, f: &RawFeature, report: &mut Report) -> bool {
        let names = src.header_names(f);
        let has = |k: &str| names.iter().any(|n| n == k);
        match (has(ITEM_KEY), has(QUANTITY_KEY)) {
            (true, true) => {
                report.push_in(
                    &src.file,
                    issue(code::LAYOUT_DETECTED)
                        .value(LAYOUT)
                        .detail(LAYOUT_JA, LAYOUT_EN),
                );
                if report.layout.is_none() {
                    report.layout = Some(LAYOUT_JA.to_string());
                }
                true
            }
            (false, false) => {
                report.push_in(
                    &src.file,
                    issue(code::HEADER_UNRECOGNIZED)
                        .value(headers_found(&names))
                        .expected(
                            "品名と数量の列を含む備蓄品一覧（全国地方公共団体コード, ID, 避難所_共通ID, 避難所_ID, \
                             保管場所名称, 保管場所種別, 品目分類, 品名, 規格, 数量, 単位, 賞味期限, 更新年月日, 緯度, 経度, 備考）",
                            "a stockpile list with 品名 (item) and 数量 (quantity) columns (全国地方公共団体コード, ID, \
                             避難所_共通ID, 避難所_ID, 保管場所名称, 保管場所種別, 品目分類, 品名, 規格, 数量, 単位, 賞味期限, \
                             更新年月日, 緯度, 経度, 備考)",
                        ),
                );
                false
            }
            (has_item, _) => {
                let missing = if has_item { QUANTITY_KEY } else { ITEM_KEY };
                report.push_in(
                    &src.file,
                    issue(code::COLUMN_MISSING)
                        .column(missing)
                        .expected("品名と数量の列", "columns 品名 (item) and 数量 (quantity)"),
                );
                false
            }
        }
    }

    /// The fid of the shelter a row names; an UNKNOWN_SHELTER error when there is none.
    fn link(&self, c: &mut Cells<'_>, sid: Option<&str>, scid: Option<&str>) -> Option<i64> {
        let find = |m: &HashMap<String, i64>, v: &str| m.get(v).copied();
        let by_id = sid.map(|v| find(&self.ctx.shelters_by_id, v));
        let by_common = scid.map(|v| find(&self.ctx.shelters_by_common_id, v));
        let expected = (
            "公開中の避難所データにあるID",
            "an ID (避難所_ID) or 共通ID (避難所_共通ID) of the published shelters dataset",
        );
        match (by_id, by_common) {
            (Some(Some(a)), Some(Some(b))) if a != b => {
                c.report(
                    issue(code::UNKNOWN_SHELTER)
                        .column(format!("{SHELTER_ID_KEY}/{SHELTER_COMMON_KEY}"))
                        .value(format!(
                            "{} / {}",
                            sid.unwrap_or_default(),
                            scid.unwrap_or_default()
                        ))
                        .detail(
                            "避難所_IDと避難所_共通IDが別々の避難所を指しています",
                            "避難所_ID and 避難所_共通ID name different shelters",
                        )
                        .expected(
                            "同じ避難所を指すIDと共通ID",
                            "an ID and a 共通ID of the same shelter",
                        ),
                );
                None
            }
            (Some(Some(a)), _) => Some(a),
            (_, Some(Some(b))) => Some(b),
            (None, None) => {
                c.report(
                    issue(code::UNKNOWN_SHELTER)
                        .column(SHELTER_ID_KEY)
                        .detail(
                            "避難所_IDか避難所_共通IDのどちらかを記入してください",
                            "fill in 避難所_ID or 避難所_共通ID",
                        )
                        .expected(expected.0, expected.1),
                );
                None
            }
            _ => {
                let (column, value) = match (sid, scid) {
                    (Some(a), Some(b)) => (
                        format!("{SHELTER_ID_KEY}/{SHELTER_COMMON_KEY}"),
                        format!("{a} / {b}"),
                    ),
                    (Some(a), None) => (SHELTER_ID_KEY.to_string(), a.to_string()),
                    (None, Some(b)) => (SHELTER_COMMON_KEY.to_string(), b.to_string()),
                    (None, None) => (SHELTER_ID_KEY.to_string(), String::new()),
                };
                let mut b = issue(code::UNKNOWN_SHELTER)
                    .column(column)
                    .value(value)
                    .expected(expected.0, expected.1);
                if self.ctx.shelters_by_id.is_empty() && self.ctx.shelters_by_common_id.is_empty() {
                    b = b.detail(
                        "避難所データがまだ公開されていません。先に避難所を取り込んでください",
                        "no shelters are published yet; ingest the shelters first",
                    );
                }
                c.report(b);
                None
            }
        }
    }
}

impl Normalizer for Stockpile {
    fn feature(&mut self, src: &SourceInfo, f: RawFeature, report: &mut Report, out: &mut Out<'_>) {
        let usable = match self.files.get(&src.file) {
            Some(&u) => u,
            None => {
                let u = Self::start_file(src, &f, report);
                self.files.insert(src.file.clone(), u);
                u
            }
        };
        if !usable {
            return;
        }
        let mut c = Cells::new(src, &f, report);
        let mut v = vec![Val::Null; STOCKPILE_COLUMNS.len()];

        v[LG_CODE] = Val::opt_text(c.lg_code(&["全国地方公共団体コード"]));
        let id = code_text(&mut c, &["ID"]).map(|x| x.1);
        if let Some(id) = &id {
            if !self.ids.insert(id.clone()) {
                c.report(
                    issue(code::DUPLICATE_ID)
                        .column("ID")
                        .value(id.clone())
                        .expected("重複しないID", "a unique ID"),
                );
            }
        }
        v[ID] = Val::opt_text(id.clone());

        let scid = code_text(&mut c, &[SHELTER_COMMON_KEY]).map(|x| x.1);
        let sid = code_text(&mut c, &[SHELTER_ID_KEY]).map(|x| x.1);
        let fid = self.link(&mut c, sid.as_deref(), scid.as_deref());
        v[SHELTER_COMMON_ID] = Val::opt_text(scid);
        v[SHELTER_ID] = Val::opt_text(sid);
        v[SHELTER_FID] = fid.map_or(Val::Null, Val::Int);

        v[LOCATION_NAME] = Val::opt_text(c.text(&["保管場所名称"]));
        v[LOCATION_TYPE] = Val::opt_text(c.text(&["保管場所種別"]));
        if let Some((k, cat)) = c.find(&["品目分類"]) {
            let n = text::nfkc(&cat).0;
            if CATEGORIES.contains(&n.as_str()) {
                v[CATEGORY] = Val::text(n);
            } else {
                c.report(
                    issue(code::VALUE_INVALID_CODE)
                        .column(k)
                        .value(cat)
                        .expected(CATEGORIES.join("／"), CATEGORIES.join(" / ")),
                );
            }
        }
        v[ITEM] = Val::opt_text(c.required_text(&[ITEM_KEY]));
        v[SPEC] = Val::opt_text(c.text(&["規格"]));
        let qty = if c.find(&[QUANTITY_KEY]).is_some() {
            c.number(&[QUANTITY_KEY])
        } else {
            c.required_text(&[QUANTITY_KEY]);
            None
        };
        if let Some(q) = qty.filter(|q| *q < 0.0) {
            c.report(
                issue(code::VALUE_OUT_OF_RANGE)
                    .column(QUANTITY_KEY)
                    .value(crate::dataset::fmt_float(q))
                    .expected("0以上の数", "a number ≥ 0"),
            );
        }
        v[QUANTITY] = qty.map_or(Val::Null, Val::Float);
        v[UNIT] = Val::opt_text(c.text(&["単位"]));
        v[EXPIRY] = Val::opt_text(c.date(EXPIRY_KEYS));
        v[UPDATED_ON] = Val::opt_text(c.date(&["更新年月日"]));

        let has_lat = c.find(&[LAT_KEY]).is_some();
        let has_lon = c.find(&[LON_KEY]).is_some();
        if has_lat && has_lon {
            if let (Some(lat), Some(lon)) = (c.number(&[LAT_KEY]), c.number(&[LON_KEY])) {
                match point_from_latlon(c.src, c.f.loc, lat, lon, (LAT_KEY, LON_KEY), c.report) {
                    Some(p) => {
                        v[LAT] = Val::Float(p.y());
                        v[LON] = Val::Float(p.x());
                    }
                    // point_from_latlon reported the error itself.
                    None => c.errors += 1,
                }
            }
        } else if has_lat || has_lon {
            c.report(
                issue(code::COORD_MISSING)
                    .column(if has_lat { LON_KEY } else { LAT_KEY })
                    .expected(
                        "緯度と経度の両方（または両方空欄）",
                        "both latitude and longitude, or neither",
                    ),
            );
        }
        v[NOTE] = Val::opt_text(c.text(&["備考"]));

        if c.errors > 0 {
            return;
        }
        report.records_accepted += 1;
        self.emitted += 1;
        out(Row {
            key: id,
            values: v,
            geometry: None,
            raw: f.raw_json(),
        });
    }

    fn finish(&mut self, report: &mut Report, _out: &mut Out<'_>) {
        if self.emitted == 0 && report.count(code::NO_RECORDS) == 0 && !report.rejected() {
            report.push(issue(code::NO_RECORDS));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crs::{Crs, Transformer};
    use crate::read::csv::read_text;
    use crate::report::Loc;

    fn ctx() -> Context {
        let mut c = Context::default();
        c.shelters_by_id.insert("A001".into(), 1);
        c.shelters_by_id.insert("A002".into(), 2);
        c.shelters_by_common_id.insert("E3399900001201".into(), 1);
        c.shelters_by_common_id.insert("E3399900002111".into(), 2);
        c
    }

    fn run(ctx: Context, files: &[(&str, &str)]) -> (Vec<Row>, Report) {
        let mut n = Stockpile::new(ctx);
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
        let i = STOCKPILE_COLUMNS
            .iter()
            .position(|c| c.name == col)
            .unwrap_or_else(|| panic!("no column {col}"));
        &row.values[i]
    }

    fn t(s: &str) -> Val {
        Val::Text(s.into())
    }

    fn issues<'a>(report: &'a Report, code: &str) -> Vec<&'a crate::report::Issue> {
        report.issues.iter().filter(|i| i.code == code).collect()
    }

    const HEADER: &str = "全国地方公共団体コード,ID,避難所_共通ID,避難所_ID,保管場所名称,保管場所種別,品目分類,品名,規格,数量,単位,\
賞味期限,更新年月日,緯度,経度,備考";

    #[test]
    fn rows_link_by_id_and_by_common_id() {
        let body = format!(
            "{HEADER}\n\
339997,S1,,A001,桜台小学校 備蓄倉庫,備蓄倉庫,食料,アルファ米,100g,100,食,令和8年3月31日,2024-04-01,34.661234,133.921234,五目ご飯\n\
339997,S2,E3399900002111,,川端公民館,避難所,飲料水,飲料水,500ml,216,本,2027-03-31,,,,\n\
339997,S3,E3399900001201,A001,桜台小学校,避難所,生活必需品,毛布,,200,枚,,,,,\n"
        );
        let (rows, report) = run(ctx(), &[("stockpile.csv", &body)]);
        assert_eq!(rows.len(), 3, "{}", report.render_text());
        assert!(!report.rejected());
        let a = &rows[0];
        assert_eq!(a.key.as_deref(), Some("S1"));
        assert!(a.geometry.is_none());
        let expect = [
            ("lg_code", t("339997")),
            ("id", t("S1")),
            ("shelter_common_id", Val::Null),
            ("shelter_id", t("A001")),
            ("shelter_fid", Val::Int(1)),
            ("location_name", t("桜台小学校 備蓄倉庫")),
            ("location_type", t("備蓄倉庫")),
            ("category", t("食料")),
            ("item", t("アルファ米")),
            ("spec", t("100g")),
            ("quantity", Val::Float(100.0)),
            ("unit", t("食")),
            ("expiry", t("2026-03-31")),
            ("updated_on", t("2024-04-01")),
            ("lat", Val::Float(34.661234)),
            ("lon", Val::Float(133.921234)),
            ("note", t("五目ご飯")),
        ];
        assert_eq!(expect.len(), STOCKPILE_COLUMNS.len());
        for (col, want) in &expect {
            assert_eq!(val(a, col), want, "column {col}");
        }
        // 和暦 expiry repaired with a warning.
        let w = issues(&report, "WAREKI_CONVERTED");
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].loc, Loc::Row(2));
        assert_eq!(w[0].column.as_deref(), Some("賞味期限"));
        assert_eq!(w[0].repaired.as_deref(), Some("2026-03-31"));
        // Linked by 共通ID alone.
        assert_eq!(val(&rows[1], "shelter_fid"), &Val::Int(2));
        assert_eq!(val(&rows[1], "quantity"), &Val::Float(216.0));
        assert_eq!(val(&rows[1], "lat"), &Val::Null);
        // Both given and agreeing.
        assert_eq!(val(&rows[2], "shelter_fid"), &Val::Int(1));
        assert_eq!(report.records_accepted, 3);
        assert_eq!(report.count(code::LAYOUT_DETECTED), 1);
    }

    #[test]
    fn unknown_and_disagreeing_shelters_are_errors() {
        let body = format!(
            "{HEADER}\n\
339997,S1,,A001,,,食料,乾パン,,10,缶,,,,,\n\
339997,S2,,Z999,,,食料,乾パン,,10,缶,,,,,\n\
339997,S3,,,,,食料,乾パン,,10,缶,,,,,\n\
339997,S4,E3399900002111,A001,,,食料,乾パン,,10,缶,,,,,\n\
339997,S5,E9999999999999,A002,,,食料,乾パン,,10,缶,,,,,\n"
        );
        let (rows, report) = run(ctx(), &[("stockpile.csv", &body)]);
        // S1 and S5 (one of the two suffices).
        assert_eq!(rows.len(), 2, "{}", report.render_text());
        assert_eq!(val(&rows[1], "shelter_fid"), &Val::Int(2));
        let e = issues(&report, "UNKNOWN_SHELTER");
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].loc, Loc::Row(3));
        assert_eq!(e[0].column.as_deref(), Some("避難所_ID"));
        assert_eq!(e[0].value.as_deref(), Some("Z999"));
        assert_eq!(
            e[0].expected_ja.as_deref(),
            Some("公開中の避難所データにあるID")
        );
        assert!(e[0].message_ja.contains("3行目"), "{}", e[0].message_ja);
        assert_eq!(e[1].loc, Loc::Row(4));
        assert_eq!(e[2].loc, Loc::Row(5));
        assert_eq!(e[2].column.as_deref(), Some("避難所_ID/避難所_共通ID"));
    }

    #[test]
    fn category_quantity_and_duplicates() {
        let body = format!(
            "{HEADER}\n\
339997,S1,,A001,,,おもちゃ,積み木,,1,個,,,,,\n\
339997,S2,,A001,,,食料,乾パン,,-5,缶,,,,,\n\
339997,S3,,A001,,,食料,乾パン,,,缶,,,,,\n\
339997,S4,,A001,,,食料,,,3,缶,,,,,\n\
339997,S5,,A001,,,食料,乾パン,,たくさん,缶,,,,,\n\
339997,S6,,A001,,,衛生用品,マスク,,１，０００,枚,R7.12.31,,,,\n\
339997,S6,,A001,,,衛生用品,マスク,,50,枚,,,,,\n"
        );
        let (rows, report) = run(ctx(), &[("stockpile.csv", &body)]);
        assert_eq!(rows.len(), 1, "{}", report.render_text());
        assert_eq!(val(&rows[0], "quantity"), &Val::Float(1000.0));
        assert_eq!(val(&rows[0], "expiry"), &t("2025-12-31"));
        let one = |code: &str| {
            let v = issues(&report, code);
            assert_eq!(v.len(), 1, "{code}: {}", report.render_text());
            v[0].clone()
        };
        let e = one("VALUE_INVALID_CODE");
        assert_eq!(
            (e.loc, e.column.as_deref(), e.value.as_deref()),
            (Loc::Row(2), Some("品目分類"), Some("おもちゃ"))
        );
        assert!(e
            .expected_ja
            .as_deref()
            .unwrap_or("")
            .contains("生活必需品"));
        let e = one("VALUE_OUT_OF_RANGE");
        assert_eq!(
            (e.loc, e.column.as_deref(), e.value.as_deref()),
            (Loc::Row(3), Some("数量"), Some("-5"))
        );
        let req = issues(&report, "VALUE_REQUIRED");
        assert_eq!(req.len(), 2);
        assert_eq!(
            (req[0].loc, req[0].column.as_deref()),
            (Loc::Row(4), Some("数量"))
        );
        assert_eq!(
            (req[1].loc, req[1].column.as_deref()),
            (Loc::Row(5), Some("品名"))
        );
        assert_eq!(one("VALUE_INVALID_NUMBER").loc, Loc::Row(6));
        let e = one("DUPLICATE_ID");
        assert_eq!((e.loc, e.value.as_deref()), (Loc::Row(8), Some("S6")));
        assert_eq!(report.count(code::FULLWIDTH_NORMALIZED), 1);
        assert_eq!(report.count(code::WAREKI_CONVERTED), 1);
    }

    #[test]
    fn swapped_and_half_coordinates() {
        let body = format!(
            "{HEADER}\n\
339997,S1,,A001,,,食料,乾パン,,10,缶,,,133.92,34.66,\n\
339997,S2,,A001,,,食料,乾パン,,10,缶,,,34.66,,\n"
        );
        let (rows, report) = run(ctx(), &[("stockpile.csv", &body)]);
        assert_eq!(rows.len(), 1);
        assert_eq!(val(&rows[0], "lat"), &Val::Float(34.66));
        assert_eq!(val(&rows[0], "lon"), &Val::Float(133.92));
        assert_eq!(report.count(code::LATLON_SWAPPED), 1);
        let e = issues(&report, "COORD_MISSING");
        assert_eq!(
            (e[0].loc, e[0].column.as_deref()),
            (Loc::Row(3), Some("経度"))
        );
    }

    #[test]
    fn unrecognised_header_once_per_file_and_empty_context() {
        let (rows, report) = run(
            ctx(),
            &[("stockpile.csv", "名称,個数\n乾パン,10\n毛布,20\n")],
        );
        assert!(rows.is_empty());
        assert_eq!(report.count(code::HEADER_UNRECOGNIZED), 1);
        assert_eq!(report.errors, 1);
        let e = &issues(&report, "HEADER_UNRECOGNIZED")[0];
        assert_eq!(e.value.as_deref(), Some("名称, 個数"));
        assert!(e.expected_ja.as_deref().unwrap_or("").contains("品名"));

        let (rows, report) = run(ctx(), &[("stockpile.csv", "品名,単位\n乾パン,缶\n")]);
        assert!(rows.is_empty());
        assert_eq!(
            issues(&report, "COLUMN_MISSING")[0].column.as_deref(),
            Some("数量")
        );

        let (rows, report) = run(
            Context::default(),
            &[("stockpile.csv", "避難所_ID,品名,数量\nA001,乾パン,10\n")],
        );
        assert!(rows.is_empty());
        let e = &issues(&report, "UNKNOWN_SHELTER")[0];
        assert!(
            e.message_ja.contains("先に避難所を取り込んで"),
            "{}",
            e.message_ja
        );
        assert_eq!(report.count(code::NO_RECORDS), 0);
    }
}
