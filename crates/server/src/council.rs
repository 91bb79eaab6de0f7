//! The council briefing pack: everything the coordination council reviews for a territory and
//! period, assembled from the analyses and registers and typeset by [`qalqan_report`] as PDF or
//! HTML in Russian, Kazakh or English. Shared by `qalqan report council` and
//! `GET …/reports/council`.
//!
//! Sections: overview, CompStat as of the last day, the Gi* hotspot map, the forecast for the next
//! week, hour × weekday, near repeats, camera and post coverage, the state of assignments
//! (overdue by agency), threat-level history, evaluated measures, and a reproducibility note
//! (parameters, the data snapshot — import batches with their SHA-256 — and the software
//! version). Maps are drawn from Qalqan's own layers as SVG.
//!
//! The fixed analysis settings (Gi* on 250 m cells with 99 permutations; the SEPP forecast on
//! 250 m cells for a week, top 5 % of the area; the Knox test with 100 m × 7 day bands and 199
//! permutations; posts' reach 400 m in a straight line) are printed in the pack.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use qalqan_analysis::compstat::compstat_table;
use qalqan_analysis::grid::Contiguity;
use qalqan_analysis::grid::GridParams;
use qalqan_analysis::hotspot::{HotspotMethod, HotspotParams, Neighbourhood, hotspot_map};
use qalqan_analysis::local::Permutations;
use qalqan_analysis::near_repeat::{KnoxParams, knox_table};
use qalqan_domain::Territory;
use qalqan_domain::assignment::{AssignmentStatus, days_left, is_overdue};
use qalqan_report::svg::{Map, PolygonLayer};
use qalqan_report::{Block, Document, Lang, Section, Table};
use qalqan_store::{IncidentRecord, Store};
use serde_json::Value;

use crate::ApiError;

/// What the pack covers.
#[derive(Debug, Clone, PartialEq)]
pub struct CouncilParams {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub lang: Lang,
    /// The day the pack is dated (and "today" for assignments).
    pub today: NaiveDate,
}

/// Parses `ru`, `kk` or `en`.
pub fn lang(code: &str) -> Result<Lang, ApiError> {
    match code.trim() {
        "ru" => Ok(Lang::Ru),
        "kk" => Ok(Lang::Kk),
        "en" => Ok(Lang::En),
        other => Err(ApiError::BadRequest(format!("lang '{other}' must be ru, kk or en"))),
    }
}

/// Words of the pack, in three languages.
fn t(lang: Lang, key: &str) -> &'static str {
    let (ru, kk, en) = match key {
        "issuer" => (
            "Координационный совет по обеспечению законности и правопорядка",
            "Заңдылық пен құқықтық тәртіпті қамтамасыз ету жөніндегі үйлестіру кеңесі",
            "Coordination council on law and order",
        ),
        "title" => (
            "Информационно-аналитические материалы к заседанию",
            "Отырысқа арналған ақпараттық-талдамалық материалдар",
            "Briefing pack for the council meeting",
        ),
        "territory" => ("Территория", "Аумақ", "Territory"),
        "period" => ("Период", "Кезең", "Period"),
        "prepared" => ("Подготовлено", "Дайындалған күні", "Prepared on"),
        "software" => ("Программа", "Бағдарлама", "Software"),
        "snapshot" => ("Снимок данных", "Деректер суреті", "Data snapshot"),
        "overview" => ("Обзор", "Шолу", "Overview"),
        "incidents" => ("Происшествий за период", "Кезеңдегі оқиғалар", "Incidents in the period"),
        "previous" => ("За предыдущий такой же период", "Алдыңғы осындай кезеңде", "In the previous equal period"),
        "change" => ("Изменение", "Өзгеріс", "Change"),
        "top_category" => ("Чаще всего", "Ең жиі", "Most frequent"),
        "by_month" => ("Происшествия по месяцам", "Айлар бойынша оқиғалар", "Incidents by month"),
        "by_category" => ("Происшествия по видам", "Түрлері бойынша оқиғалар", "Incidents by category"),
        "compstat" => ("CompStat: сравнение с прошлым годом", "CompStat: өткен жылмен салыстыру", "CompStat: against a year earlier"),
        "compstat_note" => (
            "На последний день периода. «*» — изменение значимо (точный тест, α = 0,05).",
            "Кезеңнің соңғы күніне. «*» — өзгеріс мәнді (дәл тест, α = 0,05).",
            "As of the last day of the period. \"*\" marks a significant change (exact test, α = 0.05).",
        ),
        "category" => ("Вид", "Түрі", "Category"),
        "all_categories" => ("Все виды", "Барлық түрлері", "All categories"),
        "week" => ("Неделя", "Апта", "Week"),
        "days28" => ("28 дней", "28 күн", "28 days"),
        "ytd" => ("С начала года", "Жыл басынан", "Year to date"),
        "prev" => ("год назад", "бір жыл бұрын", "a year ago"),
        "hotspots" => ("Очаги преступности (Gi*)", "Қылмыс ошақтары (Gi*)", "Crime hot spots (Gi*)"),
        "hot99" => ("Очаг, 99 %", "Ошақ, 99 %", "Hot spot, 99 %"),
        "hot95" => ("Очаг, 95 %", "Ошақ, 95 %", "Hot spot, 95 %"),
        "hot90" => ("Очаг, 90 %", "Ошақ, 90 %", "Hot spot, 90 %"),
        "any_cell" => ("Ячейка с происшествиями", "Оқиғалары бар ұяшық", "Cell with incidents"),
        "hot_cells" => ("Ячеек-очагов (250 м)", "Ошақ ұяшықтары (250 м)", "Hot-spot cells (250 m)"),
        "hot_share" => ("Доля происшествий в очагах", "Ошақтардағы оқиғалар үлесі", "Share of incidents in hot spots"),
        "hot_caption" => (
            "Ячейки 250 м со статистически значимой концентрацией происшествий (Getis-Ord Gi*, 99 перестановок, поправка Бенджамини — Хохберга).",
            "Оқиғалар шоғырлануы статистикалық мәнді 250 м ұяшықтар (Getis-Ord Gi*, 99 алмастыру, Бенджамини — Хохберг түзетуі).",
            "250 m cells with a significant concentration of incidents (Getis-Ord Gi*, 99 permutations, Benjamini–Hochberg).",
        ),
        "forecast" => ("Прогноз на следующую неделю", "Келесі аптаға болжам", "Forecast for the next week"),
        "forecast_caption" => (
            "Ячейки 250 м с наибольшим ожидаемым числом происшествий (5 % площади), модель самовозбуждающегося точечного процесса (SEPP).",
            "Күтілетін оқиғалар саны ең көп 250 м ұяшықтар (аумақтың 5 %), өздігінен қозатын нүктелік процесс моделі (SEPP).",
            "The 250 m cells with the most expected incidents (5 % of the area), self-exciting point process (SEPP).",
        ),
        "hit_rate" => {
            ("Доля попаданий (проверка на прошлых неделях)", "Дәл келу үлесі (өткен апталарда тексеру)", "Hit rate (tested on past weeks)")
        }
        "naive" => ("Наивный прогноз «как в прошлом году»", "«Өткен жылдағыдай» аңғал болжам", "Naive \"as last year\" forecast"),
        "forecast_cells" => ("Ячейки прогноза", "Болжам ұяшықтары", "Forecast cells"),
        "when" => ("Когда: час × день недели", "Қашан: сағат × апта күні", "When: hour × weekday"),
        "when_caption" => (
            "Число происшествий по часу и дню недели (местное время; интервалы распределены аористически).",
            "Сағат пен апта күні бойынша оқиғалар саны (жергілікті уақыт; аралықтар аористік бөлінген).",
            "Incidents by hour and weekday (local time; windows spread aoristically).",
        ),
        "busiest" => ("Самое напряжённое время", "Ең қауырт уақыт", "Busiest time"),
        "near_repeat" => (
            "Повторные и близкие повторные происшествия",
            "Қайталанған және жақын қайталанған оқиғалар",
            "Repeat and near-repeat incidents",
        ),
        "nr_pairs" => ("Пар происшествий", "Оқиға жұптары", "Pairs of incidents"),
        "nr_caption" => (
            "Отношение Кнокса: во сколько раз пар происшествий на таком расстоянии и с таким интервалом больше, чем при случайном распределении дат (199 перестановок); «*» — значимо.",
            "Кнокс қатынасы: осындай қашықтық пен аралықтағы оқиға жұптары кездейсоқ күндерге қарағанда неше есе көп (199 алмастыру); «*» — мәнді.",
            "Knox ratio: how many times more pairs at that distance and interval than with the dates shuffled (199 permutations); \"*\" significant.",
        ),
        "distance" => ("Расстояние", "Қашықтық", "Distance"),
        "same_place" => ("то же место", "сол орын", "same place"),
        "nr_found" => ("Риск повторного происшествия повышен:", "Қайталану қаупі жоғары:", "The risk of a repeat is raised:"),
        "nr_same" => ("в том же месте — до {0} дн.", "сол орында — {0} күнге дейін", "at the same place for up to {0} days"),
        "nr_near" => ("в радиусе {1} м — до {2} дн.", "{1} м радиуста — {2} күнге дейін", "within {1} m for up to {2} days"),
        "nr_none" => ("Значимых близких повторов не выявлено.", "Мәнді жақын қайталанулар анықталған жоқ.", "No significant near repeats."),
        "coverage" => ("Видеонаблюдение и посты", "Бейнебақылау және бекеттер", "Cameras and posts"),
        "cameras_working" => ("Работающих камер", "Жұмыс істейтін камералар", "Working cameras"),
        "cam_share" => ("Происшествий в поле зрения камер", "Камералар көретін оқиғалар", "Incidents within camera view"),
        "cam_hot" => ("Очагов под наблюдением", "Бақылаудағы ошақтар", "Hot spots under a camera"),
        "posts" => {
            ("Стационарных постов / мобильных пунктов", "Стационарлық бекеттер / жылжымалы пункттер", "Stationary posts / mobile points")
        }
        "post_share" => ("Происшествий в радиусе 400 м от поста", "Бекеттен 400 м радиустағы оқиғалар", "Incidents within 400 m of a post"),
        "district" => ("Район", "Аудан", "District"),
        "no_district" => ("вне районов", "аудандардан тыс", "outside districts"),
        "assignments" => ("Исполнение поручений", "Тапсырмалардың орындалуы", "Assignments"),
        "on_control" => ("На контроле", "Бақылауда", "On control"),
        "overdue" => ("Просрочено", "Мерзімі өткен", "Overdue"),
        "due7" => ("Срок в ближайшие 7 дней", "Мерзімі 7 күн ішінде", "Due within 7 days"),
        "accepted" => ("Исполнено, снято с контроля", "Орындалды, бақылаудан алынды", "Executed, removed from control"),
        "agency" => ("Исполнитель", "Орындаушы", "Executor"),
        "overdue_list" => ("Просроченные поручения", "Мерзімі өткен тапсырмалар", "Overdue assignments"),
        "no" => ("№", "№", "No."),
        "due" => ("Срок", "Мерзімі", "Due"),
        "days_over" => ("Дней просрочки", "Кешіктірілген күндер", "Days overdue"),
        "text" => ("Содержание", "Мазмұны", "Text"),
        "threat" => ("Уровни террористической опасности", "Террористік қауіп деңгейлері", "Terrorism threat levels"),
        "level" => ("Уровень", "Деңгей", "Level"),
        "from" => ("С", "Бастап", "From"),
        "to" => ("По", "Дейін", "To"),
        "declared_by" => ("Установил", "Белгілеген", "Declared by"),
        "state" => ("Состояние", "Күйі", "State"),
        "lifted" => ("отменён", "алынды", "lifted"),
        "in_force" => ("действует", "күшінде", "in force"),
        "ended" => ("истёк", "аяқталды", "ended"),
        "readiness" => ("Готовность (отмечено в чек-листе)", "Дайындық (чек-парақта белгіленген)", "Readiness (checklist items done)"),
        "no_levels" => ("Уровни не устанавливались.", "Деңгейлер белгіленбеген.", "No level has been declared."),
        "yellow" => ("жёлтый", "сары", "yellow"),
        "orange" => ("оранжевый", "қызғылт сары", "orange"),
        "red" => ("красный", "қызыл", "red"),
        "measures" => ("Эффективность принятых мер", "Қабылданған шаралардың тиімділігі", "Did the measures work?"),
        "measure" => ("Мера", "Шара", "Measure"),
        "start" => ("Начало", "Басталуы", "Start"),
        "rate_ratio" => ("Относительное изменение", "Салыстырмалы өзгеріс", "Relative change"),
        "verdict" => ("Вывод", "Қорытынды", "Verdict"),
        "v_reduction" => ("снижение", "төмендеу", "reduction"),
        "v_increase" => ("рост", "өсу", "increase"),
        "v_no_evidence" => ("нет доказательств эффекта", "әсерге дәлел жоқ", "no evidence of an effect"),
        "v_not_estimable" => ("недостаточно данных", "деректер жеткіліксіз", "not enough data"),
        "measures_note" => (
            "Целевая зона сравнивается с контрольным кольцом (до 2 км) до и после начала меры: разность разностей, пуассоновская регрессия по неделям; 95 % интервал.",
            "Мақсатты аймақ шара басталғанға дейін және кейін бақылау сақинасымен (2 км дейін) салыстырылады: айырмалар айырмасы, апталық Пуассон регрессиясы; 95 % аралық.",
            "The target area is compared with a control ring (to 2 km) before and after the start: difference in differences, weekly Poisson regression; 95 % interval.",
        ),
        "no_measures" => {
            ("Меры для оценки не зарегистрированы.", "Бағалау үшін шаралар тіркелмеген.", "No measures are recorded for evaluation.")
        }
        "repro" => ("Воспроизводимость", "Қайта жаңғыртылуы", "Reproducibility"),
        "repro_text" => (
            "Материалы получены программой Qalqan из данных, перечисленных ниже; повторный запуск с теми же параметрами на тех же данных даёт те же цифры.",
            "Материалдар Qalqan бағдарламасымен төменде көрсетілген деректерден алынды; сол деректерде сол параметрлермен қайта іске қосу сол сандарды береді.",
            "Produced by Qalqan from the data listed below; running it again with the same parameters on the same data gives the same figures.",
        ),
        "params" => ("Параметры", "Параметрлер", "Parameters"),
        "batch" => ("Пакет", "Пакет", "Batch"),
        "file" => ("Файл", "Файл", "File"),
        "rows" => ("Строк", "Жолдар", "Rows"),
        "imported" => ("Загружен", "Жүктелді", "Imported"),
        "checksum" => ("SHA-256", "SHA-256", "SHA-256"),
        "no_data" => ("Нет данных за период.", "Кезеңге деректер жоқ.", "No data for the period."),
        "none" => ("нет", "жоқ", "none"),
        "footer" => ("Для служебного пользования · Qalqan", "Қызметтік пайдалану үшін · Qalqan", "For official use · Qalqan"),
        _ => ("?", "?", "?"),
    };
    match lang {
        Lang::Ru => ru,
        Lang::Kk => kk,
        Lang::En => en,
    }
}

fn category_label(lang: Lang, code: &str) -> String {
    let (ru, kk, en) = match code {
        "homicide" => ("Убийства", "Кісі өлтіру", "Homicide"),
        "assault" => ("Телесные повреждения", "Дене жарақаттары", "Assault"),
        "sexual_offence" => ("Половые преступления", "Жыныстық қылмыстар", "Sexual offences"),
        "robbery" => ("Грабежи и разбои", "Тонау және қарақшылық", "Robbery"),
        "burglary" => ("Кражи со взломом", "Бұзып ұрлау", "Burglary"),
        "theft" => ("Кражи", "Ұрлық", "Theft"),
        "vehicle_theft" => ("Угоны", "Көлік айдап әкету", "Vehicle theft"),
        "fraud" => ("Мошенничество", "Алаяқтық", "Fraud"),
        "drugs" => ("Наркотики", "Есірткі", "Drugs"),
        "weapons" => ("Оружие", "Қару", "Weapons"),
        "vandalism" => ("Вандализм", "Вандализм", "Vandalism"),
        "hooliganism" => ("Хулиганство", "Бұзақылық", "Hooliganism"),
        "traffic" => ("ДТП (преступления)", "Жол-көлік қылмыстары", "Traffic"),
        "terrorism" => ("Терроризм и экстремизм", "Терроризм және экстремизм", "Terrorism"),
        "other" => ("Прочие", "Басқалар", "Other"),
        _ => return code.to_owned(),
    };
    match lang {
        Lang::Ru => ru,
        Lang::Kk => kk,
        Lang::En => en,
    }
    .to_owned()
}

/// A number with thin-space thousands (ru, kk) or commas (en).
fn num(lang: Lang, n: u64) -> String {
    let s = n.to_string();
    let sep = if lang == Lang::En { ',' } else { '\u{202f}' };
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

fn pct(lang: Lang, share: f64) -> String {
    let s = format!("{:.1} %", share * 100.0);
    if lang == Lang::En { s.replace(" %", "%") } else { s.replace('.', ",") }
}

fn change(lang: Lang, current: u64, previous: u64) -> String {
    if previous == 0 {
        return "—".into();
    }
    let c = (current as f64 / previous as f64 - 1.0) * 100.0;
    let s = format!("{c:+.1} %");
    if lang == Lang::En { s.replace(" %", "%") } else { s.replace('.', ",") }
}

fn date(lang: Lang, d: NaiveDate) -> String {
    match lang {
        Lang::En => d.format("%-d %b %Y").to_string(),
        _ => d.format("%d.%m.%Y").to_string(),
    }
}

/// Polygon rings of a GeoJSON geometry (`Polygon` or `MultiPolygon`).
fn polygons(geometry: &Value) -> Vec<Vec<Vec<[f64; 2]>>> {
    let ring = |r: &Value| -> Vec<[f64; 2]> {
        r.as_array().into_iter().flatten().filter_map(|p| Some([p.get(0)?.as_f64()?, p.get(1)?.as_f64()?])).collect()
    };
    let poly = |p: &Value| -> Vec<Vec<[f64; 2]>> { p.as_array().into_iter().flatten().map(ring).collect() };
    match geometry["type"].as_str() {
        Some("Polygon") => vec![poly(&geometry["coordinates"])],
        Some("MultiPolygon") => geometry["coordinates"].as_array().into_iter().flatten().map(poly).collect(),
        _ => Vec::new(),
    }
}

/// The territory's outline for the maps (the boundary, else nothing).
fn outline(territory: &Territory) -> Option<PolygonLayer> {
    let b = territory.boundary.as_ref()?;
    let geometry = crate::layers::multipolygon(b.shape());
    Some(PolygonLayer { polygons: polygons(&geometry), fills: vec!["#ffffff".into()], stroke: "#2b2b2b".into(), stroke_width: 1.0 })
}

/// Assembles the pack. `records` are the territory's incidents from a year before `from` to `to`
/// (CompStat and the forecast look back a year); `all` are assignments and the like read here.
pub async fn council_pack(store: &Store, territory: &Territory, p: &CouncilParams) -> Result<Document, ApiError> {
    let year_before = NaiveDate::from_ymd_opt(chrono::Datelike::year(&p.from) - 1, 1, 1).unwrap_or(p.from);
    let filter = crate::incident_filter(territory, Some(&year_before.to_string()), Some(&p.to.to_string()), None)?;
    let all: Vec<IncidentRecord> = store.incident_records(&filter).await?;
    let tz = territory.time_zone;
    let day = |r: &IncidentRecord| r.start.with_timezone(&tz).date_naive();
    let in_period: Vec<IncidentRecord> = all.iter().filter(|r| day(r) >= p.from && day(r) <= p.to).cloned().collect();
    let span = (p.to - p.from).num_days() + 1;
    let prev_from = p.from - chrono::Duration::days(span);
    let previous = all.iter().filter(|r| day(r) >= prev_from && day(r) < p.from).count() as u64;
    let cameras = store.cameras(territory.id).await?;
    let posts = store.posts(territory.id).await?;
    // The assignments of the bodies serving this territory (or several territories).
    let serving: std::collections::HashSet<i64> =
        store.bodies().await?.into_iter().filter(|b| b.territory_id.is_none_or(|t| t == territory.id.0)).map(|b| b.id).collect();
    let assignments: Vec<_> = store
        .assignments(&qalqan_store::coordination::AssignmentFilter::default())
        .await?
        .into_iter()
        .filter(|a| serving.contains(&a.source.body_id))
        .collect();
    let levels = store.threat_levels(territory.id).await?;
    let mut readiness = None;
    if let Some(last) = levels.last() {
        let items = store.checklist(last.id).await?;
        if !items.is_empty() {
            readiness = Some(items.iter().filter(|i| i.done_at.is_some()).count() as f64 / items.len() as f64);
        }
    }
    let interventions = store.interventions(territory.id).await?;
    let batches = store.batches(territory.id).await?;
    let streets = crate::streets::load_street_graph(store, territory).await?;
    let territory = territory.clone();
    let params = p.clone();
    tokio::task::spawn_blocking(move || {
        build(
            &territory,
            &params,
            &all,
            &in_period,
            previous,
            &cameras,
            &posts,
            &assignments,
            &levels,
            readiness,
            &interventions,
            &batches,
            streets.as_ref().map(|(g, u)| (g, u)),
        )
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
}

#[allow(clippy::too_many_arguments)]
fn build(
    territory: &Territory,
    p: &CouncilParams,
    all: &[IncidentRecord],
    in_period: &[IncidentRecord],
    previous: u64,
    cameras: &[qalqan_store::CameraRecord],
    posts: &[qalqan_store::PostRecord],
    assignments: &[qalqan_store::coordination::Assignment],
    levels: &[qalqan_store::threat::Declaration],
    readiness: Option<f64>,
    interventions: &[qalqan_store::evaluation::InterventionRecord],
    batches: &[qalqan_domain::ImportBatch],
    streets: Option<(&qalqan_planning::street::StreetGraph, &qalqan_analysis::projection::Utm)>,
) -> Result<Document, ApiError> {
    let lang = p.lang;
    let tz = territory.time_zone;
    let day = |r: &IncidentRecord| r.start.with_timezone(&tz).date_naive();
    let mut sections = Vec::new();
    let outline = outline(territory);

    // 1. Overview.
    let mut by_cat: BTreeMap<&str, u64> = BTreeMap::new();
    let mut by_month: BTreeMap<String, u64> = BTreeMap::new();
    for r in in_period {
        *by_cat.entry(r.category.code()).or_default() += 1;
        *by_month.entry(day(r).format("%Y-%m").to_string()).or_default() += 1;
    }
    let mut cats: Vec<(&str, u64)> = by_cat.into_iter().collect();
    cats.sort_by_key(|c| std::cmp::Reverse(c.1));
    let n = in_period.len() as u64;
    let mut blocks = vec![Block::KeyFigures(vec![
        (t(lang, "incidents").into(), num(lang, n)),
        (t(lang, "previous").into(), num(lang, previous)),
        (t(lang, "change").into(), change(lang, n, previous)),
        (t(lang, "top_category").into(), cats.first().map_or_else(|| t(lang, "none").to_owned(), |c| category_label(lang, c.0))),
    ])];
    if n == 0 {
        blocks.push(Block::Paragraph(t(lang, "no_data").into()));
    } else {
        let months: Vec<(String, f64)> = by_month.iter().map(|(m, c)| (m.clone(), *c as f64)).collect();
        blocks.push(Block::Figure {
            svg: qalqan_report::svg::bar_chart(&months, 520.0, 14.0 * months.len() as f64 + 12.0),
            caption: t(lang, "by_month").into(),
            width: 0.8,
        });
        let rows: Vec<Vec<String>> =
            cats.iter().map(|(c, k)| vec![category_label(lang, c), num(lang, *k), pct(lang, *k as f64 / n as f64)]).collect();
        blocks.push(Block::Table(Table {
            columns: vec![t(lang, "category").into(), t(lang, "incidents").into(), "%".into()],
            numeric: vec![false, true, true],
            rows,
            highlight: vec![],
        }));
    }
    sections.push(Section { title: t(lang, "overview").into(), blocks });

    // 2. CompStat as of the last day.
    let incidents = crate::patterns::dated_incidents(territory, all);
    let table = compstat_table(&incidents, p.to);
    let star = |c: &qalqan_analysis::compstat::Comparison| if c.significant(0.05) { " *" } else { "" };
    let rows: Vec<Vec<String>> = table
        .iter()
        .filter(|r| r.district.is_none())
        .map(|r| {
            vec![
                r.category.as_deref().map_or_else(|| t(lang, "all_categories").to_owned(), |c| category_label(lang, c)),
                num(lang, r.last_28_days.current),
                num(lang, r.last_28_days.previous),
                format!("{}{}", change(lang, r.last_28_days.current, r.last_28_days.previous), star(&r.last_28_days)),
                num(lang, r.year_to_date.current),
                num(lang, r.year_to_date.previous),
                format!("{}{}", change(lang, r.year_to_date.current, r.year_to_date.previous), star(&r.year_to_date)),
            ]
        })
        .collect();
    sections.push(Section {
        title: t(lang, "compstat").into(),
        blocks: vec![
            Block::Table(Table {
                columns: vec![
                    t(lang, "category").into(),
                    t(lang, "days28").into(),
                    t(lang, "prev").into(),
                    "±".into(),
                    t(lang, "ytd").into(),
                    t(lang, "prev").into(),
                    "±".into(),
                ],
                numeric: vec![false, true, true, true, true, true, true],
                rows,
                highlight: vec![],
            }),
            Block::Note(format!("{} {}", t(lang, "compstat_note"), date(lang, p.to))),
        ],
    });

    // 3. Hot spots.
    let points: Vec<qalqan_domain::Wgs84Point> = in_period.iter().map(|r| r.location).collect();
    let mut blocks = Vec::new();
    if points.len() >= 30 {
        let hp = HotspotParams {
            grid: GridParams { cell_metres: 250.0, ..GridParams::default() },
            method: HotspotMethod::GiStar,
            neighbourhood: Neighbourhood::Contiguity(Contiguity::Queen),
            permutations: Permutations { count: 99, seed: 12345 },
        };
        let map = hotspot_map(&points, territory.boundary.as_ref(), &hp).map_err(|e| ApiError::BadRequest(e.to_string()))?;
        let gj = crate::hotspots::hotspot_geojson(&map, Value::Null, crate::hotspots::CellSelection::NonEmpty);
        let mut layers: Vec<PolygonLayer> = outline.iter().cloned().collect();
        // Every cell with an incident, faint: the shape of the city under the hot spots.
        let any: Vec<Vec<Vec<[f64; 2]>>> = gj["features"].as_array().into_iter().flatten().flat_map(|f| polygons(&f["geometry"])).collect();
        layers.push(PolygonLayer { polygons: any, fills: vec!["#dde3ea".into()], stroke: "none".into(), stroke_width: 0.0 });
        let (mut hot, mut in_hot) = (0u64, 0u64);
        for (class, color) in [(1, "#fdae61"), (2, "#f46d43"), (3, "#d73027")] {
            let cells: Vec<&Value> =
                gj["features"].as_array().into_iter().flatten().filter(|f| f["properties"]["gi_class"] == class).collect();
            hot += cells.len() as u64;
            in_hot += cells.iter().filter_map(|f| f["properties"]["count"].as_u64()).sum::<u64>();
            layers.push(PolygonLayer {
                polygons: cells.iter().flat_map(|f| polygons(&f["geometry"])).collect(),
                fills: vec![color.into()],
                stroke: "none".into(),
                stroke_width: 0.0,
            });
        }
        let legend = vec![
            ("#d73027".into(), t(lang, "hot99").into()),
            ("#f46d43".into(), t(lang, "hot95").into()),
            ("#fdae61".into(), t(lang, "hot90").into()),
            ("#dde3ea".into(), t(lang, "any_cell").into()),
        ];
        blocks.push(Block::KeyFigures(vec![
            (t(lang, "hot_cells").into(), num(lang, hot)),
            (t(lang, "hot_share").into(), pct(lang, in_hot as f64 / points.len() as f64)),
        ]));
        blocks.push(Block::Figure {
            svg: qalqan_report::svg::map(&Map { layers, points: vec![], legend }, 640.0, 460.0),
            caption: t(lang, "hot_caption").into(),
            width: 1.0,
        });
    } else {
        blocks.push(Block::Paragraph(t(lang, "no_data").into()));
    }
    sections.push(Section { title: t(lang, "hotspots").into(), blocks });

    // 4. Forecast for the week after the period.
    let mut blocks = Vec::new();
    if let (Some(model), true) = (crate::forecast::model_named("sepp"), in_period.len() >= 30) {
        let lp = crate::forecast::LayerParams {
            model,
            horizon: crate::forecast::Horizon::Week,
            cell_metres: 250.0,
            coverage: 0.05,
            origin: crate::forecast::local_midnight(p.to + chrono::Duration::days(1)),
            backtest_origins: 4,
        };
        match crate::forecast::forecast_layer(territory, all, &lp) {
            Ok(v) => {
                let cells: Vec<Vec<Vec<[f64; 2]>>> =
                    v["features"].as_array().into_iter().flatten().flat_map(|f| polygons(&f["geometry"])).collect();
                let q = &v["qalqan"];
                let mut figs = vec![(t(lang, "forecast_cells").into(), num(lang, cells.len() as u64))];
                if let (Some(m), Some(nv)) = (q["backtest"]["model"]["hit_rate"].as_f64(), q["backtest"]["naive"]["hit_rate"].as_f64()) {
                    figs.push((t(lang, "hit_rate").into(), pct(lang, m)));
                    figs.push((t(lang, "naive").into(), pct(lang, nv)));
                }
                blocks.push(Block::KeyFigures(figs));
                let mut layers: Vec<PolygonLayer> = outline.iter().cloned().collect();
                layers.push(PolygonLayer { polygons: cells, fills: vec!["#7b3294".into()], stroke: "none".into(), stroke_width: 0.0 });
                let legend = vec![("#7b3294".into(), t(lang, "forecast_cells").into())];
                blocks.push(Block::Figure {
                    svg: qalqan_report::svg::map(&Map { layers, points: vec![], legend }, 640.0, 440.0),
                    caption: t(lang, "forecast_caption").into(),
                    width: 0.9,
                });
            }
            Err(e) => blocks.push(Block::Note(e.to_string())),
        }
    } else {
        blocks.push(Block::Paragraph(t(lang, "no_data").into()));
    }
    sections.push(Section { title: t(lang, "forecast").into(), blocks });

    // 5. Hour × weekday.
    let tj = crate::patterns::time_json(territory, Value::Null, in_period);
    let values: Vec<Vec<f64>> = tj["hour_weekday"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|row| row.as_array().into_iter().flatten().filter_map(Value::as_f64).collect())
        .collect();
    let weekdays: Vec<String> = match lang {
        Lang::Ru => ["Пн", "Вт", "Ср", "Чт", "Пт", "Сб", "Вс"],
        Lang::Kk => ["Дс", "Сс", "Ср", "Бс", "Жм", "Сб", "Жс"],
        Lang::En => ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
    }
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let hours: Vec<String> = (0..24).map(|h| format!("{h:02}")).collect();
    let mut blocks = Vec::new();
    if let Some((w, h, _)) = values
        .iter()
        .enumerate()
        .flat_map(|(w, row)| row.iter().enumerate().map(move |(h, v)| (w, h, *v)))
        .max_by(|a, b| a.2.total_cmp(&b.2))
    {
        blocks.push(Block::KeyFigures(vec![(t(lang, "busiest").into(), format!("{} {:02}:00–{:02}:00", weekdays[w], h, (h + 1) % 24))]));
    }
    blocks.push(Block::Figure {
        svg: qalqan_report::svg::heatmap(&weekdays, &hours, &values, 640.0, 190.0),
        caption: t(lang, "when_caption").into(),
        width: 1.0,
    });
    sections.push(Section { title: t(lang, "when").into(), blocks });

    // 6. Near repeats.
    let (events, _left) = crate::near_repeat::knox_events(territory, in_period);
    let mut blocks = Vec::new();
    if events.len() >= 30 {
        let kp = KnoxParams { permutations: 199, ..KnoxParams::default() };
        let table = knox_table(&events, &kp).map_err(|e| ApiError::BadRequest(e.to_string()))?;
        let kj = crate::near_repeat::knox_json(&table, 0);
        let (days, m) = match lang {
            Lang::Ru => ("дн.", "м"),
            Lang::Kk => ("күн", "м"),
            Lang::En => ("days", "m"),
        };
        let temporal: Vec<String> = table
            .temporal
            .iter()
            .map(|b| match *b {
                qalqan_analysis::near_repeat::TemporalBand::Within { from, to } => format!("{from}–{} {days}", to - 1.0),
                qalqan_analysis::near_repeat::TemporalBand::Beyond { from } => format!("≥ {from} {days}"),
            })
            .collect();
        let mut columns = vec![t(lang, "distance").to_owned()];
        columns.extend(temporal.iter().cloned());
        let rows: Vec<Vec<String>> = (0..table.spatial.len())
            .map(|r| {
                let mut row = vec![match table.spatial[r] {
                    qalqan_analysis::near_repeat::SpatialBand::SameLocation => t(lang, "same_place").to_owned(),
                    qalqan_analysis::near_repeat::SpatialBand::Within { from, to } => format!("{from}–{to} {m}"),
                    qalqan_analysis::near_repeat::SpatialBand::Beyond { from } => format!("> {from} {m}"),
                }];
                for c in 0..table.temporal.len() {
                    let cell = table.cell(r, c);
                    row.push(cell.knox_ratio.map_or("—".into(), |k| format!("{k:.2}{}", if table.is_notable(r, c) { " *" } else { "" })));
                }
                row
            })
            .collect();
        blocks.push(Block::KeyFigures(vec![(t(lang, "nr_pairs").into(), num(lang, table.pairs))]));
        let s = &kj["summary"];
        let weeks = |c: u64| ((c + 1) * 7).to_string();
        let same = s["repeat_up_to_column"].as_u64().map(weeks);
        let near = s["near_repeats"]
            .as_array()
            .and_then(|a| a.iter().find(|f| f["row"].as_u64() == Some(1)))
            .and_then(|f| f["up_to_column"].as_u64())
            .map(weeks);
        let sentence = if same.is_none() && near.is_none() {
            t(lang, "nr_none").to_owned()
        } else {
            let mut parts = Vec::new();
            if let Some(d) = same {
                parts.push(t(lang, "nr_same").replace("{0}", &d));
            }
            if let Some(d) = near {
                parts.push(t(lang, "nr_near").replace("{1}", "100").replace("{2}", &d));
            }
            format!("{} {}.", t(lang, "nr_found"), parts.join("; "))
        };
        blocks.push(Block::Paragraph(sentence));
        blocks.push(Block::Table(Table { numeric: vec![true; columns.len()], columns, rows, highlight: vec![] }));
        blocks.push(Block::Note(t(lang, "nr_caption").into()));
    } else {
        blocks.push(Block::Paragraph(t(lang, "no_data").into()));
    }
    sections.push(Section { title: t(lang, "near_repeat").into(), blocks });

    // 7. Cameras and posts.
    let cov = crate::cameras::coverage_json(territory, cameras, in_period, streets);
    let utm = qalqan_analysis::projection::Utm::for_points(&points.iter().copied().take(2000).collect::<Vec<_>>());
    let post_xy: Vec<(f64, f64)> = posts.iter().map(|q| utm.forward(q.post.location)).collect();
    let near_post = in_period
        .iter()
        .filter(|r| {
            let (x, y) = utm.forward(r.location);
            post_xy.iter().any(|&(px, py)| (px - x).hypot(py - y) <= 400.0)
        })
        .count() as u64;
    let stationary = posts.iter().filter(|q| q.post.kind.code() == "stationary").count() as u64;
    let mut figs = vec![(t(lang, "cameras_working").into(), num(lang, cov["cameras"]["working"].as_u64().unwrap_or(0)))];
    if let Some(s) = cov["incidents"]["share"].as_f64() {
        figs.push((t(lang, "cam_share").into(), pct(lang, s)));
    }
    if let Some(s) = cov["hotspot_cells"]["share"].as_f64() {
        figs.push((t(lang, "cam_hot").into(), pct(lang, s)));
    }
    figs.push((t(lang, "posts").into(), format!("{} / {}", num(lang, stationary), num(lang, posts.len() as u64 - stationary))));
    if n > 0 && !posts.is_empty() {
        figs.push((t(lang, "post_share").into(), pct(lang, near_post as f64 / n as f64)));
    }
    let mut blocks = vec![Block::KeyFigures(figs)];
    let with_cameras = cov["cameras"]["working"].as_u64().unwrap_or(0) > 0;
    let rows: Vec<Vec<String>> = cov["districts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| with_cameras && d["incidents"].as_u64().unwrap_or(0) > 0)
        .take(15)
        .map(|d| {
            vec![
                d["district"].as_str().map_or_else(|| t(lang, "no_district").to_owned(), str::to_owned),
                num(lang, d["incidents"].as_u64().unwrap_or(0)),
                d["share"].as_f64().map_or("—".into(), |s| pct(lang, s)),
            ]
        })
        .collect();
    if !rows.is_empty() {
        blocks.push(Block::Table(Table {
            columns: vec![t(lang, "district").into(), t(lang, "incidents").into(), t(lang, "cam_share").into()],
            numeric: vec![false, true, true],
            rows,
            highlight: vec![],
        }));
    }
    sections.push(Section { title: t(lang, "coverage").into(), blocks });

    // 8. Assignments.
    let today = p.today;
    let open: Vec<&qalqan_store::coordination::Assignment> = assignments.iter().filter(|a| a.status.is_open()).collect();
    let overdue: Vec<&&qalqan_store::coordination::Assignment> = open.iter().filter(|a| is_overdue(a.status, a.due_on, today)).collect();
    let due7 = open.iter().filter(|a| a.status.awaits_executor() && (0..=7).contains(&days_left(a.due_on, today))).count() as u64;
    let accepted = assignments.iter().filter(|a| a.status == AssignmentStatus::Accepted).count() as u64;
    let mut by_agency: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for a in &open {
        let e = by_agency.entry(a.assignment.executor.as_str()).or_default();
        e.0 += 1;
        e.1 += u64::from(is_overdue(a.status, a.due_on, today));
    }
    let mut agencies: Vec<(&str, (u64, u64))> = by_agency.into_iter().collect();
    agencies.sort_by(|a, b| b.1.1.cmp(&a.1.1).then(b.1.0.cmp(&a.1.0)));
    let mut blocks = vec![Block::KeyFigures(vec![
        (t(lang, "on_control").into(), num(lang, open.len() as u64)),
        (t(lang, "overdue").into(), num(lang, overdue.len() as u64)),
        (t(lang, "due7").into(), num(lang, due7)),
        (t(lang, "accepted").into(), num(lang, accepted)),
    ])];
    if !agencies.is_empty() {
        let highlight: Vec<usize> = agencies.iter().enumerate().filter(|(_, a)| a.1.1 > 0).map(|(i, _)| i).collect();
        blocks.push(Block::Table(Table {
            columns: vec![t(lang, "agency").into(), t(lang, "on_control").into(), t(lang, "overdue").into()],
            numeric: vec![false, true, true],
            rows: agencies.iter().map(|(a, (o, l))| vec![(*a).to_owned(), num(lang, *o), num(lang, *l)]).collect(),
            highlight,
        }));
    }
    if !overdue.is_empty() {
        let mut late: Vec<&&&qalqan_store::coordination::Assignment> = overdue.iter().collect();
        late.sort_by_key(|a| a.due_on);
        blocks.push(Block::Paragraph(t(lang, "overdue_list").into()));
        blocks.push(Block::Table(Table {
            columns: vec![
                t(lang, "no").into(),
                t(lang, "agency").into(),
                t(lang, "due").into(),
                t(lang, "days_over").into(),
                t(lang, "text").into(),
            ],
            numeric: vec![true, false, false, true, false],
            rows: late
                .iter()
                .take(20)
                .map(|a| {
                    let text: String = a.assignment.text.chars().take(140).collect();
                    vec![
                        a.id.to_string(),
                        a.assignment.executor.clone(),
                        date(lang, a.due_on),
                        (-days_left(a.due_on, today)).to_string(),
                        text,
                    ]
                })
                .collect(),
            highlight: vec![],
        }));
    }
    sections.push(Section { title: t(lang, "assignments").into(), blocks });

    // 9. Threat levels.
    let mut blocks = Vec::new();
    if levels.is_empty() {
        blocks.push(Block::Paragraph(t(lang, "no_levels").into()));
    } else {
        let rows: Vec<Vec<String>> = levels
            .iter()
            .map(|d| {
                let state = if d.lifted_at.is_some() {
                    t(lang, "lifted")
                } else if d.ends_on.is_some_and(|e| e < today) {
                    t(lang, "ended")
                } else {
                    t(lang, "in_force")
                };
                vec![
                    t(lang, d.level.code()).to_owned(),
                    date(lang, d.starts_on),
                    d.ends_on.map_or("—".into(), |e| date(lang, e)),
                    d.declared_by.clone(),
                    state.to_owned(),
                ]
            })
            .collect();
        blocks.push(Block::Table(Table {
            columns: vec![
                t(lang, "level").into(),
                t(lang, "from").into(),
                t(lang, "to").into(),
                t(lang, "declared_by").into(),
                t(lang, "state").into(),
            ],
            numeric: vec![false; 5],
            rows,
            highlight: vec![],
        }));
        if let Some(r) = readiness {
            blocks.push(Block::KeyFigures(vec![(t(lang, "readiness").into(), pct(lang, r))]));
        }
    }
    sections.push(Section { title: t(lang, "threat").into(), blocks });

    // 10. Measures.
    let mut blocks = Vec::new();
    let mut rows = Vec::new();
    let ep = crate::evaluation::EvaluationParams::default();
    let last = crate::evaluation::last_day(territory, all);
    for i in interventions {
        let verdict = match crate::evaluation::evaluate(territory, &i.intervention, all, last, &ep) {
            Ok(v) => {
                let e = &v["target"];
                let code = e["verdict"].as_str().unwrap_or("not_estimable");
                let ratio = e["rate_ratio"].as_f64().map(|r| change(lang, (r * 1000.0).round() as u64, 1000)).unwrap_or_else(|| "—".into());
                (ratio, t(lang, &format!("v_{code}")).to_owned())
            }
            Err(_) => ("—".into(), t(lang, "v_not_estimable").to_owned()),
        };
        rows.push(vec![i.intervention.name.clone(), date(lang, i.intervention.starts_on), verdict.0, verdict.1]);
    }
    if rows.is_empty() {
        blocks.push(Block::Paragraph(t(lang, "no_measures").into()));
    } else {
        blocks.push(Block::Table(Table {
            columns: vec![t(lang, "measure").into(), t(lang, "start").into(), t(lang, "rate_ratio").into(), t(lang, "verdict").into()],
            numeric: vec![false, false, true, false],
            rows,
            highlight: vec![],
        }));
        blocks.push(Block::Note(t(lang, "measures_note").into()));
    }
    sections.push(Section { title: t(lang, "measures").into(), blocks });

    // 11. Reproducibility.
    let snapshot = snapshot_id(batches);
    let params_text = format!(
        "territory={}; from={}; to={}; lang={}; hotspots=Gi*,250m,queen,99perm,seed12345; forecast=sepp,250m,week,5%,4 backtest weeks; knox=100m×3,7d×3,manhattan,199perm,seed1; posts=400m; evaluation=365d before,180d after,buffer 400m,control 2000m",
        territory.name,
        p.from,
        p.to,
        lang.code()
    );
    let mut blocks = vec![Block::Paragraph(t(lang, "repro_text").into()), Block::Note(format!("{}: {params_text}", t(lang, "params")))];
    blocks.push(Block::Table(Table {
        columns: vec![
            t(lang, "batch").into(),
            t(lang, "file").into(),
            t(lang, "rows").into(),
            t(lang, "imported").into(),
            t(lang, "checksum").into(),
        ],
        numeric: vec![true, false, true, false, false],
        rows: batches
            .iter()
            .map(|b| {
                vec![
                    b.id.0.to_string(),
                    std::path::Path::new(&b.file_name)
                        .file_name()
                        .map_or_else(|| b.file_name.clone(), |f| f.to_string_lossy().into_owned())
                        .chars()
                        .take(40)
                        .collect(),
                    num(lang, b.rows_imported),
                    date(lang, b.imported_at.date_naive()),
                    b.checksum.as_str().chars().take(16).collect::<String>() + "…",
                ]
            })
            .collect(),
        highlight: vec![],
    }));
    blocks.push(Block::Note(format!("{}: {snapshot} · Qalqan {}", t(lang, "snapshot"), env!("CARGO_PKG_VERSION"))));
    sections.push(Section { title: t(lang, "repro").into(), blocks });

    let today_tuple = (chrono::Datelike::year(&p.today), chrono::Datelike::month(&p.today) as u8, chrono::Datelike::day(&p.today) as u8);
    Ok(Document {
        lang,
        issuer: t(lang, "issuer").into(),
        title: t(lang, "title").into(),
        subtitle: format!("{} · {} — {}", territory.name, date(lang, p.from), date(lang, p.to)),
        meta: vec![
            (t(lang, "territory").into(), territory.name.to_string()),
            (t(lang, "period").into(), format!("{} — {}", date(lang, p.from), date(lang, p.to))),
            (t(lang, "prepared").into(), date(lang, p.today)),
            (t(lang, "snapshot").into(), snapshot.clone()),
            (t(lang, "software").into(), format!("Qalqan {}", env!("CARGO_PKG_VERSION"))),
        ],
        date: today_tuple,
        footer: format!("{} · {} · {}", t(lang, "footer"), territory.name, snapshot),
        sections,
    })
}

/// A short identifier of the data: SHA-256 over the import batches' ids and checksums.
pub fn snapshot_id(batches: &[qalqan_domain::ImportBatch]) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for b in batches {
        h.update(b.id.0.to_string().as_bytes());
        h.update(b":");
        h.update(b.checksum.as_str().as_bytes());
        h.update(b"\n");
    }
    let digest = h.finalize();
    digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// Query of `GET …/reports/council`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CouncilQuery {
    /// First local day, `YYYY-MM-DD`.
    pub from: String,
    /// Last local day, `YYYY-MM-DD`.
    pub to: String,
    /// `ru` (default), `kk` or `en`.
    pub lang: Option<String>,
    /// `pdf` (default) or `html`.
    pub format: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/territories/{name}/reports/council", tag = "reports", summary = "The council briefing pack (PDF or HTML) for a territory and period, in Russian, Kazakh or English", params(("name" = String, Path, description = "Territory name"), CouncilQuery), responses((status = 200, description = "The pack", content_type = "application/pdf"), (status = 400, description = "Invalid parameter (the message names it)", body = crate::ErrorBody), (status = 401, description = "Not logged in", body = crate::ErrorBody), (status = 403, description = "The role or scope does not allow it", body = crate::ErrorBody), (status = 404, description = "No such territory (or outside the user's scope)", body = crate::ErrorBody)))]
pub(crate) async fn get_council(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    crate::session::CurrentSession(session): crate::session::CurrentSession,
    axum::extract::Path(name): axum::extract::Path<String>,
    axum::extract::Query(q): axum::extract::Query<CouncilQuery>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    use qalqan_domain::account::Role;
    if !matches!(session.user.role, Role::Administrator | Role::Analyst | Role::Commander) {
        return Err(ApiError::Forbidden(format!("the {} role cannot produce council packs", session.user.role)));
    }
    let territory = crate::scope::whole_territory(&state, &session, &name).await?;
    let from = crate::assignments::date("from", &q.from)?;
    let to = crate::assignments::date("to", &q.to)?;
    if to < from || (to - from).num_days() > 3 * 366 {
        return Err(ApiError::BadRequest(format!("the period {from} — {to} must run forwards and be at most three years")));
    }
    let lang = lang(q.lang.as_deref().unwrap_or("ru"))?;
    let html = match q.format.as_deref().unwrap_or("pdf") {
        "pdf" => false,
        "html" => true,
        f => return Err(ApiError::BadRequest(format!("format '{f}' must be pdf or html"))),
    };
    let params = CouncilParams { from, to, lang, today: crate::assignments::today() };
    let doc = council_pack(&state.store, &territory, &params).await?;
    // Producing a pack reads assignments and incidents in aggregate: recorded like other reports.
    let audit = qalqan_domain::audit::NewAuditEntry {
        actor: crate::session::actor(&session, peer),
        action: "report.council".into(),
        object: format!("territory:{}", territory.id.0),
        detail: serde_json::json!({"from": from.to_string(), "to": to.to_string(), "lang": lang.code(), "format": if html { "html" } else { "pdf" }}).to_string(),
        purpose: None,
    };
    state.store.audit(&audit).await?;
    let file = format!("council-{}-{}-{}.{}", territory.name, to, lang.code(), if html { "html" } else { "pdf" });
    let disposition =
        format!("attachment; filename=\"{}\"", file.replace(|c: char| !c.is_ascii_alphanumeric() && c != '.' && c != '-', "_"));
    if html {
        let body = qalqan_report::html(&doc);
        Ok((
            [
                (axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8".to_owned()),
                (axum::http::header::CONTENT_DISPOSITION, disposition),
            ],
            body,
        )
            .into_response())
    } else {
        let bytes = tokio::task::spawn_blocking(move || qalqan_report::pdf(&doc))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        Ok((
            [(axum::http::header::CONTENT_TYPE, "application/pdf".to_owned()), (axum::http::header::CONTENT_DISPOSITION, disposition)],
            bytes,
        )
            .into_response())
    }
}
