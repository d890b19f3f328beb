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
    let ods =
        "共通ID,ID,名称,所在地_連結表記,緯度,経度,災害種別_地震,指定避難所との重複,想定収容人数\n\
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
    let body = "SAUID,ITEM001,X,Y\n1,桜台小学校,-31234.5,120345.6\n2,川端公園,-31000.0,120000.0\n";
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
    let body =
        "施設名,所在地,電話番号,開設される災害の種類（地震・津波）,開設される災害の種類（風水害）,\
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
    let body = "ID,名称,所在地_連結表記,緯度,経度,災害種別_洪水,災害種別_崖崩れ、土石流及び地滑り,\
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
    let body =
        "name,name_en,address,latitude,longitude,flood_L1,flood_L2,tsunami,landslide,capacity\n\
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
