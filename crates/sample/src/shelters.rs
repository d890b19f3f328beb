//! Shelters (03 指定緊急避難場所一覧 and the GSI 指定避難所 list) and the
//! per-shelter stockpile table.
//!
//! Hazard flags are derived from the generated hazard polygons so that the
//! data is coherent: a site inside a flood zone is never designated for
//! floods, a coastal low-lying site never for tsunami, and so on. The one
//! site deliberately placed on the unflooded raised ground inside the flood
//! area shows the opposite case (designated for floods although surrounded
//! by flood zones).

use geo::{Contains, Distance, Euclidean, Point, Polygon};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::geometry::P;
use super::hazards::Hazards;
use super::names::Setting;
use super::wards::City;
use super::{CITY_CODE, CITY_NAME, PREF_NAME};

/// Kind of site; decides name, capacity, flags and stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Elementary,
    JuniorHigh,
    High,
    Kominkan,
    Park,
    CommunityCenter,
    Gym,
    Welfare,
    MeetingHall,
}

impl Kind {
    /// (name suffix, kana suffix, English suffix).
    fn suffix(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Kind::Elementary => ("小学校", "ショウガッコウ", "Elementary School"),
            Kind::JuniorHigh => ("中学校", "チュウガッコウ", "Junior High School"),
            Kind::High => ("高等学校", "コウトウガッコウ", "High School"),
            Kind::Kominkan => ("公民館", "コウミンカン", "Community Hall"),
            Kind::Park => ("公園", "コウエン", "Park"),
            Kind::CommunityCenter => (
                "コミュニティセンター",
                "コミュニティセンター",
                "Community Center",
            ),
            Kind::Gym => ("市民体育館", "シミンタイイクカン", "City Gymnasium"),
            Kind::Welfare => (
                "市総合福祉センター",
                "シソウゴウフクシセンター",
                "City Welfare Center",
            ),
            Kind::MeetingHall => ("集会所", "シュウカイジョ", "Meeting Hall"),
        }
    }

    /// Buildings double as 指定避難所 (shelters where people can stay).
    fn is_building_shelter(self) -> bool {
        !matches!(self, Kind::Park | Kind::MeetingHall)
    }
}

/// One site of the 03 list.
#[derive(Debug, Clone)]
pub struct Shelter {
    /// 1-based facility serial (also used in 共通ID).
    pub serial: usize,
    pub kind: Kind,
    pub name: String,
    pub kana: String,
    pub roman: String,
    pub ward: usize,
    pub lon: f64,
    pub lat: f64,
    pub banchi: String,
    pub elevation: f64,
    /// 洪水, 崖崩れ等, 高潮, 地震, 津波, 大規模な火事, 内水氾濫, 火山現象.
    pub flags: [bool; 8],
    /// 指定避難所との重複.
    pub also_shelter: bool,
    /// 福祉避難所 (共通ID minor type 2).
    pub welfare: bool,
    pub capacity: u32,
    pub communities: Vec<String>,
    pub phone: String,
    pub postcode: String,
    pub note: String,
}

impl Shelter {
    /// The 03 ID, e.g. `339997-0001`.
    pub fn id(&self) -> String {
        format!("{CITY_CODE}-{:04}", self.serial)
    }

    /// 全国共通避難所・避難場所ID for 指定避難所: `E` + 5-digit city code +
    /// 5-digit serial + `1` (避難所) + `1` 一般 / `2` 福祉 + `1`.
    pub fn common_id(&self) -> Option<String> {
        self.also_shelter.then(|| {
            format!(
                "E{}{:05}1{}1",
                &CITY_CODE[..5],
                self.serial,
                if self.welfare { 2 } else { 1 }
            )
        })
    }

    pub fn address(&self, city: &City) -> String {
        format!(
            "{PREF_NAME}{CITY_NAME}{}{}",
            city.wards[self.ward].name, self.banchi
        )
    }
}

/// Places 60 sites in populated wards (plus hill wards) and derives their
/// attributes from the hazard layers.
pub fn build(city: &City, hz: &Hazards, seed: u64) -> Vec<Shelter> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut kinds: Vec<Kind> = Vec::new();
    kinds.extend([Kind::Elementary; 20]);
    kinds.extend([Kind::JuniorHigh; 9]);
    kinds.extend([Kind::High; 3]);
    kinds.extend([Kind::Kominkan; 11]);
    kinds.extend([Kind::Park; 11]);
    kinds.extend([Kind::CommunityCenter; 3]);
    kinds.extend([Kind::Gym, Kind::Welfare, Kind::MeetingHall]);
    // Interleave kinds so every part of the city gets a mix.
    for i in (1..kinds.len()).rev() {
        kinds.swap(i, rng.gen_range(0..=i));
    }

    // Weighted random choice of wards (Efraimidis–Spirakis keys).
    let mut keyed: Vec<(f64, usize)> = city
        .wards
        .iter()
        .enumerate()
        .filter(|(_, w)| !w.industrial)
        .map(|(i, w)| {
            let weight = 1.0 + (w.jinko as f64 + 1.0).ln();
            (rng.gen::<f64>().powf(1.0 / weight), i)
        })
        .collect();
    keyed.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut wards: Vec<usize> = keyed.iter().map(|&(_, i)| i).take(kinds.len()).collect();

    // The raised, unflooded ground inside the flood area gets a park.
    let mound_ward = city.ward_at(hz.dry_mound);
    let mound_slot = kinds.iter().position(|&k| k == Kind::Park);

    let flood: Vec<&Polygon> = hz.flood.iter().map(|f| &f.poly).collect();
    let tsunami: Vec<&Polygon> = hz.tsunami.iter().map(|b| &b.poly).collect();
    let surge: Vec<&Polygon> = hz.surge.iter().map(|b| &b.poly).collect();
    let slides: Vec<&Polygon> = hz
        .landslide
        .iter()
        .filter(|z| z.parent.is_none())
        .map(|z| &z.poly)
        .collect();
    let inside = |set: &[&Polygon], p: P| set.iter().any(|poly| poly.contains(&p));

    let mut used_names: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for (i, &kind) in kinds.iter().enumerate() {
        let serial = i + 1;
        let on_mound = Some(i) == mound_slot && mound_ward.is_some();
        if on_mound {
            if let Some(w) = mound_ward {
                wards[i] = w;
            }
        }
        let ward = wards[i];
        let w = &city.wards[ward];
        let pos = if on_mound {
            hz.dry_mound
        } else {
            let mut p = w.inside;
            for _ in 0..20 {
                let cand = P {
                    x: w.inside.x + rng.gen_range(-150.0..150.0),
                    y: w.inside.y + rng.gen_range(-150.0..150.0),
                };
                if w.parts[0].contains(&cand)
                    && Euclidean.distance(&Point(cand), w.parts[0].exterior()) > 25.0
                {
                    p = cand;
                    break;
                }
            }
            p
        };
        let (sfx, kana_sfx, en_sfx) = kind.suffix();
        let (mut name, mut kana, mut roman) = match kind {
            Kind::Gym | Kind::Welfare => (
                format!("サンプル{sfx}"),
                format!("サンプル{kana_sfx}"),
                format!("Sample {en_sfx}"),
            ),
            _ if on_mound => (
                format!("{}高台{sfx}", w.base.kanji),
                format!("{}タカダイ{kana_sfx}", w.base.kana),
                format!("{} Takadai {en_sfx}", w.base.roman),
            ),
            _ => (
                format!("{}{sfx}", w.base.kanji),
                format!("{}{kana_sfx}", w.base.kana),
                format!("{} {en_sfx}", w.base.roman),
            ),
        };
        let mut n = 2;
        while used_names.contains(&name) {
            let num = super::names::kansuji(n);
            name = format!("{}第{num}{sfx}", w.base.kanji);
            kana = format!(
                "{}ダイ{}{kana_sfx}",
                w.base.kana,
                ["", "イチ", "ニ", "サン", "ヨン", "ゴ"][n.min(5)]
            );
            roman = format!("{} No.{n} {en_sfx}", w.base.roman);
            n += 1;
        }
        used_names.push(name.clone());

        let elevation = city.frame.elevation(pos) + if on_mound { 6.0 } else { 0.0 };
        let t = city.frame.rel_height(pos);
        let in_flood = inside(&flood, pos);
        let in_slide = inside(&slides, pos)
            || slides
                .iter()
                .any(|z| Euclidean.distance(&Point(pos), z.exterior()) < 80.0);
        let in_tsunami = inside(&tsunami, pos);
        let in_surge = inside(&surge, pos);
        let open_space = matches!(kind, Kind::Park | Kind::High | Kind::JuniorHigh)
            || (kind == Kind::Elementary && serial % 2 == 0);
        let flags = [
            !in_flood && elevation >= 4.0,
            !in_slide,
            !in_surge && elevation >= 3.0,
            kind != Kind::MeetingHall,
            !in_tsunami && (t >= 0.3 || elevation >= 12.0),
            open_space,
            !in_flood && elevation >= 5.0,
            false,
        ];
        let capacity = match kind {
            Kind::Elementary => rng.gen_range(400..900),
            Kind::JuniorHigh => rng.gen_range(500..1100),
            Kind::High => rng.gen_range(700..1500),
            Kind::Kominkan => rng.gen_range(50..200),
            Kind::Park => rng.gen_range(500..1500),
            Kind::CommunityCenter => rng.gen_range(100..300),
            Kind::Gym => rng.gen_range(900..1500),
            Kind::Welfare => rng.gen_range(50..120),
            Kind::MeetingHall => rng.gen_range(50..80),
        } / 10
            * 10;
        let assoc = if w.setting == Setting::Hills {
            "自治会"
        } else {
            "町内会"
        };
        let mut communities = vec![format!("{}{assoc}", w.name)];
        for nb in city.neighbours(ward).into_iter().take(2) {
            let nw = &city.wards[nb];
            if nw.jinko > 0 {
                communities.push(format!("{}{}", nw.name, assoc));
            }
        }
        let note = match kind {
            Kind::Park if on_mound => "洪水時も浸水しない高台".to_string(),
            Kind::Park => "屋外のみ".to_string(),
            Kind::Welfare => "福祉避難所（要配慮者向け）".to_string(),
            Kind::MeetingHall => "耐震改修未実施".to_string(),
            _ if in_flood => "浸水想定区域内（上階へ垂直避難）".to_string(),
            _ => String::new(),
        };
        let (lon, lat) = {
            let ll = city.frame.to_lonlat(pos);
            ((ll.x * 1e6).round() / 1e6, (ll.y * 1e6).round() / 1e6)
        };
        out.push(Shelter {
            serial,
            kind,
            name,
            kana,
            roman,
            ward,
            lon,
            lat,
            banchi: format!("{}-{}", rng.gen_range(1..=30), rng.gen_range(1..=20)),
            elevation,
            flags,
            also_shelter: kind.is_building_shelter(),
            welfare: kind == Kind::Welfare,
            capacity,
            communities,
            phone: format!("086-000-{:04}", rng.gen_range(1000..10000)),
            postcode: format!(
                "7099{:03}",
                (w.s_area[..4].parse::<usize>().unwrap_or(0) / 10) % 1000
            ),
            note,
        });
    }
    out
}

/// The 39 columns of 03 指定緊急避難場所一覧 (current layout).
pub const HEADER_03: [&str; 39] = [
    "全国地方公共団体コード",
    "ID",
    "名称",
    "名称_カナ",
    "名称_英字",
    "所在地_全国地方公共団体コード",
    "町字ID",
    "所在地_連結表記",
    "所在地_都道府県",
    "所在地_市区町村",
    "所在地_町字",
    "所在地_番地以下",
    "建物名等(方書)",
    "緯度",
    "経度",
    "標高",
    "電話番号",
    "内線番号",
    "連絡先メールアドレス",
    "連絡先FormURL",
    "連絡先備考（その他、SNSなど）",
    "郵便番号",
    "市区町村コード",
    "地方公共団体名",
    "災害種別_洪水",
    "災害種別_崖崩れ、土石流及び地滑り",
    "災害種別_高潮",
    "災害種別_地震",
    "災害種別_津波",
    "災害種別_大規模な火事",
    "災害種別_内水氾濫",
    "災害種別_火山現象",
    "指定避難所との重複",
    "想定収容人数",
    "対象となる町会・自治会",
    "URL",
    "画像",
    "画像_ライセンス",
    "備考",
];

fn flag(b: bool) -> String {
    if b {
        "1".into()
    } else {
        String::new()
    }
}

/// Rows of the 03 file (header first).
pub fn rows_03(city: &City, shelters: &[Shelter]) -> Vec<Vec<String>> {
    let mut rows = vec![HEADER_03.iter().map(|s| s.to_string()).collect::<Vec<_>>()];
    for s in shelters {
        let w = &city.wards[s.ward];
        let mut r = vec![
            CITY_CODE.to_string(),
            s.id(),
            s.name.clone(),
            s.kana.clone(),
            s.roman.clone(),
            CITY_CODE.to_string(),
            w.machiaza_id(),
            s.address(city),
            PREF_NAME.to_string(),
            CITY_NAME.to_string(),
            w.name.clone(),
            s.banchi.clone(),
            String::new(),
            format!("{:.6}", s.lat),
            format!("{:.6}", s.lon),
            format!("{:.1}", s.elevation),
            s.phone.clone(),
            String::new(),
            if s.serial % 5 == 0 {
                "bosai@city.sample.example".to_string()
            } else {
                String::new()
            },
            String::new(),
            String::new(),
            s.postcode.clone(),
            CITY_CODE.to_string(),
            format!("{PREF_NAME}{CITY_NAME}"),
        ];
        r.extend(s.flags.iter().map(|&b| flag(b)));
        r.push(flag(s.also_shelter));
        r.push(s.capacity.to_string());
        r.push(s.communities.join(";"));
        r.push(format!(
            "https://www.city.sample.example/bosai/hinanbasho/{:04}.html",
            s.serial
        ));
        r.push(String::new());
        r.push(String::new());
        r.push(s.note.clone());
        debug_assert_eq!(r.len(), HEADER_03.len());
        rows.push(r);
    }
    rows
}

/// Rows of the GSI 指定避難所 (`_1`) file: the sites that are also 指定避難所.
pub fn rows_gsi(city: &City, shelters: &[Shelter]) -> Vec<Vec<String>> {
    let mut rows = vec![[
        "NO",
        "共通ID",
        "施設・場所名",
        "住所",
        "指定緊急避難場所との住所同一",
        "その他市町村長が必要と認める事項",
        "受入対象者",
        "緯度",
        "経度",
        "備考",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect::<Vec<_>>()];
    for (no, s) in shelters.iter().filter(|s| s.also_shelter).enumerate() {
        rows.push(vec![
            (no + 1).to_string(),
            s.common_id().unwrap_or_default(),
            s.name.clone(),
            s.address(city),
            "1".to_string(),
            String::new(),
            if s.welfare {
                "要配慮者（高齢者、障害者、妊産婦等）".to_string()
            } else {
                String::new()
            },
            format!("{:.6}", s.lat),
            format!("{:.6}", s.lon),
            if s.welfare {
                "福祉避難所".to_string()
            } else {
                String::new()
            },
        ]);
    }
    rows
}

/// One stock item of the catalogue.
struct Item {
    cat: &'static str,
    name: &'static str,
    spec: &'static str,
    unit: &'static str,
    /// Quantity per 100 people of capacity.
    per100: f64,
    /// Shelf life in years (賞味期限 / 使用期限), None for equipment.
    life: Option<i32>,
    /// Always stocked.
    core: bool,
}

const fn it(
    cat: &'static str,
    name: &'static str,
    spec: &'static str,
    unit: &'static str,
    per100: f64,
    life: Option<i32>,
    core: bool,
) -> Item {
    Item {
        cat,
        name,
        spec,
        unit,
        per100,
        life,
        core,
    }
}

const ITEMS: &[Item] = &[
    it(
        "食料",
        "アルファ米",
        "白飯 100g",
        "食",
        150.0,
        Some(5),
        true,
    ),
    it(
        "食料",
        "アルファ米",
        "五目ご飯 100g",
        "食",
        80.0,
        Some(5),
        false,
    ),
    it("食料", "乾パン", "110g缶", "缶", 40.0, Some(5), false),
    it(
        "食料",
        "保存用ビスケット",
        "30枚入",
        "箱",
        30.0,
        Some(5),
        false,
    ),
    it("食料", "おかゆ", "250g", "食", 30.0, Some(5), false),
    it("食料", "粉ミルク", "800g缶", "缶", 2.0, Some(1), false),
    it("食料", "液体ミルク", "240ml", "本", 6.0, Some(1), false),
    it(
        "食料",
        "アレルギー対応食",
        "特定原材料等28品目不使用",
        "食",
        20.0,
        Some(5),
        false,
    ),
    it(
        "飲料水",
        "飲料水(500ml)",
        "500ml ペットボトル",
        "本",
        200.0,
        Some(7),
        true,
    ),
    it(
        "飲料水",
        "飲料水(2L)",
        "2L ペットボトル",
        "本",
        60.0,
        Some(5),
        false,
    ),
    it("生活必需品", "毛布", "圧縮梱包", "枚", 80.0, None, true),
    it(
        "生活必需品",
        "段ボールベッド",
        "組立式",
        "台",
        5.0,
        None,
        false,
    ),
    it(
        "生活必需品",
        "間仕切り(パーティション)",
        "2m×2m",
        "式",
        6.0,
        None,
        false,
    ),
    it(
        "生活必需品",
        "タオル",
        "フェイスタオル",
        "枚",
        100.0,
        None,
        false,
    ),
    it("生活必需品", "懐中電灯", "LED", "本", 5.0, None, false),
    it(
        "生活必需品",
        "乾電池",
        "単3形 4本パック",
        "パック",
        10.0,
        None,
        false,
    ),
    it(
        "生活必需品",
        "ブルーシート",
        "3.6m×5.4m",
        "枚",
        10.0,
        None,
        false,
    ),
    it(
        "生活必需品",
        "ラジオ",
        "手回し充電式",
        "台",
        0.5,
        None,
        false,
    ),
    it(
        "衛生用品",
        "簡易トイレ",
        "凝固剤付き",
        "個",
        300.0,
        None,
        true,
    ),
    it(
        "衛生用品",
        "紙おむつ(乳幼児用)",
        "Mサイズ",
        "パック",
        3.0,
        None,
        false,
    ),
    it(
        "衛生用品",
        "紙おむつ(大人用)",
        "Lサイズ",
        "パック",
        3.0,
        None,
        false,
    ),
    it("衛生用品", "生理用品", "昼用", "パック", 5.0, None, false),
    it(
        "衛生用品",
        "トイレットペーパー",
        "12ロール",
        "パック",
        5.0,
        None,
        false,
    ),
    it("衛生用品", "マスク", "不織布", "枚", 200.0, None, false),
    it(
        "衛生用品",
        "消毒液",
        "アルコール 500ml",
        "本",
        5.0,
        Some(3),
        false,
    ),
    it(
        "衛生用品",
        "ウェットティッシュ",
        "80枚入",
        "個",
        10.0,
        None,
        false,
    ),
    it(
        "資機材",
        "発電機",
        "カセットガス式 0.9kVA",
        "台",
        0.3,
        None,
        false,
    ),
    it("資機材", "投光器", "LED 50W", "台", 0.5, None, false),
    it(
        "資機材",
        "カセットボンベ",
        "250g",
        "本",
        12.0,
        Some(7),
        false,
    ),
    it(
        "資機材",
        "炊き出しセット",
        "大鍋・コンロ",
        "式",
        0.2,
        None,
        false,
    ),
    it(
        "資機材",
        "給水タンク",
        "20L 折りたたみ",
        "個",
        10.0,
        None,
        false,
    ),
    it("資機材", "リヤカー", "折りたたみ式", "台", 0.2, None, false),
    it("資機材", "担架", "折りたたみ式", "台", 0.4, None, false),
    it("資機材", "車いす", "自走式", "台", 0.3, None, false),
    it("医薬品", "救急箱", "避難所用", "式", 0.3, None, false),
    it(
        "医薬品",
        "常備薬セット",
        "解熱鎮痛剤・胃腸薬等",
        "式",
        0.3,
        Some(3),
        false,
    ),
    it("医薬品", "包帯", "伸縮 7.5cm", "巻", 20.0, None, false),
    it("医薬品", "体温計", "非接触式", "本", 0.5, None, false),
];

/// The stockpile header.
pub const STOCK_HEADER: [&str; 14] = [
    "全国地方公共団体コード",
    "ID",
    "避難所_共通ID",
    "避難所_ID",
    "保管場所名称",
    "保管場所種別",
    "品目分類",
    "品名",
    "規格",
    "数量",
    "単位",
    "賞味期限",
    "更新年月日",
    "備考",
];

/// About 25 rows per site: core items always, others by kind of site,
/// food and water sometimes in two lots with different expiry dates.
pub fn stockpile_rows(shelters: &[Shelter], seed: u64) -> Vec<Vec<String>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut rows = vec![STOCK_HEADER
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()];
    let mut n = 0usize;
    for s in shelters {
        let p = match s.kind {
            Kind::Kominkan => 0.5,
            Kind::Park => 0.55,
            Kind::MeetingHall => 0.4,
            _ => 0.72,
        };
        // Parks keep their stock in a 防災倉庫; some schools keep equipment
        // in a separate warehouse on site.
        let separate_store =
            s.kind == Kind::Park || (s.kind == Kind::Elementary && s.serial % 3 == 0);
        let (uy, um, ud) = (
            if rng.gen_bool(0.6) { 2025 } else { 2026 },
            rng.gen_range(1..=12u32),
            rng.gen_range(1..=28u32),
        );
        let (uy, um) = if uy == 2026 {
            (uy, um.min(3))
        } else {
            (uy, um.max(4))
        };
        let updated = format!("{uy:04}-{um:02}-{ud:02}");
        for item in ITEMS {
            if !item.core && !rng.gen_bool(p) {
                continue;
            }
            let lots = if item.life.is_some() && item.cat != "医薬品" && rng.gen_bool(0.12) {
                2
            } else {
                1
            };
            for lot in 0..lots {
                n += 1;
                let base = item.per100 * s.capacity as f64 / 100.0 / lots as f64;
                let qty = (base * rng.gen_range(0.7..1.3)).round().max(1.0) as i64;
                let mut note = String::new();
                let expiry = match item.life {
                    Some(years) => {
                        let mut y = uy + rng.gen_range(0..=years) - lot;
                        if rng.gen_bool(0.03) {
                            y = uy - 1;
                        }
                        let (m, d) = (rng.gen_range(1..=12u32), rng.gen_range(1..=28u32));
                        if (y, m, d) < (uy, um, ud) {
                            note = "期限切れのため入替予定".to_string();
                        }
                        format!("{y:04}-{m:02}-{d:02}")
                    }
                    None => String::new(),
                };
                if note.is_empty() && item.cat == "資機材" && rng.gen_bool(0.08) {
                    note = "動作確認済".to_string();
                }
                let in_store = separate_store && (s.kind == Kind::Park || item.cat == "資機材");
                let (place, place_kind) = if in_store {
                    (format!("{}防災倉庫", s.name), "備蓄倉庫")
                } else {
                    (s.name.clone(), "避難所")
                };
                rows.push(vec![
                    CITY_CODE.to_string(),
                    format!("{CITY_CODE}-B{n:05}"),
                    s.common_id().unwrap_or_default(),
                    s.id(),
                    place,
                    place_kind.to_string(),
                    item.cat.to_string(),
                    item.name.to_string(),
                    item.spec.to_string(),
                    qty.to_string(),
                    item.unit.to_string(),
                    expiry,
                    updated.clone(),
                    note,
                ]);
            }
        }
    }
    rows
}
