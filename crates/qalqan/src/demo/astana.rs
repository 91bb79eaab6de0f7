//! Astana's coordination scenario for the demo: the city's coordination council on law and
//! order and its anti-terrorism commission (the bodies named in the seed news) with an
//! operational headquarters, their meetings and protocol items, assignments in every state of
//! their lifecycle (one overdue, one due within days, one awaiting the controller's decision,
//! one with an extension request), the register of protected facilities (railway stations, the
//! airport, …), an inspection whose findings became assignments, and a yellow terrorism threat
//! level declared for the city, its checklists partly worked off, then lifted.
//!
//! [`incidents`] gives Astana two years of **generated** incidents (not real: Qalqan has no
//! Astana data), with cameras and posts at the busiest places, so that every analysis and the
//! council pack have something to show on Astana's own map.
//!
//! Dates are relative to the day the demo first runs, so there is always something overdue and
//! something due soon. Loaded once: nothing is added when the database already has bodies.
//! The demo analyst (`demo`) is the controller, so the assignments can be accepted or returned
//! from the UI; the executors' steps are recorded under the agencies' own accounts.

use anyhow::Context;
use chrono::{Datelike, Duration, NaiveDate};
use qalqan_domain::TerritoryName;
use qalqan_domain::assignment::{AssignmentAction, BodyKind, Deadline, NewAssignment, Priority, Recurrence};
use qalqan_domain::audit::Actor;
use qalqan_domain::facility::ThreatLevel;
use qalqan_store::Store;
use qalqan_store::coordination::{NewAttachment, NewBody, NewInspection, NewMeeting, NewReport, ProtocolItem, Source};

/// The demo's register of facilities (see data/README.md).
const FACILITIES: &str = include_str!("../../../../data/demo/astana-facilities.csv");
/// The starting table of measures per category and threat level, in Russian for Astana.
const MEASURES: &str = include_str!("../../../../data/coordination/measures.ru.csv");

const POLICE: &str = "Департамент полиции г. Астаны";
const AKIMAT: &str = "Акимат г. Астаны";
const PROSECUTOR: &str = "Прокуратура г. Астаны";
const KNB: &str = "ДКНБ по г. Астане";
const EMERGENCY: &str = "ДЧС г. Астаны";
const EDUCATION: &str = "Управление образования г. Астаны";
const RAILWAYS: &str = "АО «НК «Қазақстан темір жолы»";
const AIRPORT: &str = "АО «Международный аэропорт Нурсултан Назарбаев»";
/// The controller of every assignment: the demo account.
const CONTROLLER: &str = "demo";

/// Loads the scenario unless bodies already exist; returns whether it did.
pub async fn load(store: &Store, demo_dir: &std::path::Path, today: NaiveDate) -> anyhow::Result<bool> {
    if !store.bodies().await?.is_empty() {
        return Ok(false);
    }
    let secretary = Actor::cli("demo");
    let police = Actor::cli("dp.astana");
    let akimat = Actor::cli("akimat.astana");
    let day = |d: i64| today + Duration::days(d);
    let astana_id = Some(store.territory(&TerritoryName::parse("Astana")?).await?.id.0);

    // Bodies and meetings.
    let council = store
        .add_body(
            &NewBody {
                name: "Координационный совет по обеспечению законности, правопорядка и борьбы с преступностью г. Астаны".into(),
                kind: BodyKind::CoordinationCouncil,
                members: members(&[
                    (PROSECUTOR, "прокурор города, председатель"),
                    (AKIMAT, "заместитель акима"),
                    (POLICE, "начальник департамента"),
                    (EDUCATION, ""),
                    (EMERGENCY, ""),
                ]),
                territory_id: astana_id,
            },
            &secretary,
        )
        .await?;
    let commission = store
        .add_body(
            &NewBody {
                name: "Антитеррористическая комиссия г. Астаны".into(),
                kind: BodyKind::AntiTerroristCommission,
                members: members(&[
                    (AKIMAT, "аким города, председатель"),
                    (KNB, "заместитель председателя"),
                    (POLICE, ""),
                    (EMERGENCY, ""),
                    (PROSECUTOR, ""),
                    (RAILWAYS, ""),
                    (AIRPORT, ""),
                ]),
                territory_id: astana_id,
            },
            &secretary,
        )
        .await?;
    store
        .add_body(
            &NewBody {
                name: "Оперативный штаб г. Астаны".into(),
                kind: BodyKind::OperationalHeadquarters,
                members: members(&[(KNB, "руководитель штаба"), (POLICE, ""), (EMERGENCY, "")]),
                territory_id: astana_id,
            },
            &secretary,
        )
        .await?;
    let council_3 = store
        .add_meeting(
            &NewMeeting {
                body_id: council,
                held_on: day(-80),
                number: "3".into(),
                agenda: "1. О состоянии правопорядка в общественных местах и результатах проверки профилактической работы.\n2. О причинах и условиях, способствующих совершению краж и грабежей в жилых комплексах.\n3. О защищённости торговых объектов.".into(),
                items: items(&[
                    ("1", "О состоянии правопорядка в общественных местах (докладчик — начальник ДП). Принять к сведению; поручить ДП и акимату устранить условия, выявленные проверкой профилактической работы (пп. 1.1–1.2)."),
                    ("2", "О причинах и условиях краж и грабежей в жилых комплексах. Усилить профилактику в школах и анализ преступности (пп. 2.1–2.2)."),
                    ("3", "О защищённости торговых объектов. Оборудовать объекты тревожной сигнализацией, согласовать патрулирование парковок (пп. 3.1–3.2)."),
                ]),
            },
            &secretary,
        )
        .await?;
    let commission_4 = store
        .add_meeting(
            &NewMeeting {
                body_id: commission,
                held_on: day(-60),
                number: "4".into(),
                agenda: "1. Об антитеррористической защищённости объектов транспортной инфраструктуры (вокзалы, аэропорт, автовокзал).\n2. О готовности мест массового пребывания людей к действиям при установлении уровней террористической опасности.".into(),
                items: items(&[
                    ("1", "Об антитеррористической защищённости объектов транспортной инфраструктуры. Актуализировать паспорта вокзалов, вывести камеры аэропорта в ЦОУ (пп. 1.1–1.2)."),
                    ("2", "О готовности мест массового пребывания людей. Обследовать ТРЦ без паспорта (п. 2.1)."),
                ]),
            },
            &secretary,
        )
        .await?;
    let commission_5 = store
        .add_meeting(
            &NewMeeting {
                body_id: commission,
                held_on: day(-10),
                number: "5".into(),
                agenda: "1. Об итогах действия жёлтого уровня террористической опасности.\n2. О плане учений в местах массового пребывания людей.".into(),
                items: items(&[
                    ("1", "Об итогах действия жёлтого уровня. Принять к сведению: чек-листы исполнены не полностью."),
                    ("2", "О плане учений. Подготовить учения по эвакуации в ТРЦ и на стадионе."),
                ]),
            },
            &secretary,
        )
        .await?;

    let from = |body: i64, meeting: i64| Source { body_id: body, meeting_id: Some(meeting), parent_id: None };
    let fixed = |d: i64| Deadline::Fixed(day(d));
    let add = |source: Source, a: NewAssignment, issue: bool, issued_on: NaiveDate| {
        let secretary = secretary.clone();
        async move { store.add_assignment(source, &a, issue, issued_on, &secretary).await.context("demo assignment") }
    };

    // The council's protocol № 3.
    let cameras = add(
        from(council, council_3),
        assignment("1.1", "Обеспечить подключение камер видеонаблюдения жилых комплексов районов «Сарыарка» и «Алматы» к Центру оперативного управления ДП; доложить о числе подключённых камер и оставшихся без подключения.", POLICE, &[AKIMAT], fixed(5), Priority::High, Some("district:Сарыарка"))?,
        true,
        day(-80),
    )
    .await?;
    let lighting = add(
        from(council, council_3),
        assignment("1.2", "Установить наружное освещение в 14 тёмных дворах и проездах, выявленных при проверке профилактической работы (перечень — приложение к протоколу).", AKIMAT, &[], fixed(-6), Priority::High, None)?,
        true,
        day(-80),
    )
    .await?;
    let schools = add(
        from(council, council_3),
        assignment("2.1", "Провести в школах профилактические занятия о мошенничестве и кражах с участием участковых инспекторов; представить справку о проведённых занятиях.", EDUCATION, &[POLICE], fixed(-20), Priority::Normal, None)?,
        true,
        day(-80),
    )
    .await?;
    let quarterly = add(
        from(council, council_3),
        assignment("2.2", "Ежеквартально, к 5-му числу месяца после квартала, представлять в Координационный совет анализ преступности в общественных местах с картой очагов.", POLICE, &[], Deadline::recurring(Recurrence::Quarterly, 5)?, Priority::Normal, None)?,
        true,
        day(-80),
    )
    .await?;
    let alarms = add(
        from(council, council_3),
        assignment(
            "3.1",
            "Оборудовать торговые объекты площадью свыше 1 000 м² кнопками тревожной сигнализации с выводом на пульт полиции.",
            AKIMAT,
            &[POLICE],
            fixed(10),
            Priority::Normal,
            Some("facility:ТРЦ «Керуен»"),
        )?,
        true,
        day(-80),
    )
    .await?;
    let patrols = add(
        from(council, council_3),
        assignment(
            "3.2",
            "Согласовать с собственниками ТРЦ график совместного патрулирования парковок в вечернее время.",
            POLICE,
            &[],
            fixed(15),
            Priority::Normal,
            None,
        )?,
        true,
        day(-80),
    )
    .await?;

    // The commission's protocol № 4.
    let passports = add(
        from(commission, commission_4),
        assignment("1.1", "Актуализировать паспорта антитеррористической защищённости вокзалов «Нұрлы жол» и «Астана-1»; срок действия паспорта вокзала «Астана-1» истёк.", RAILWAYS, &[POLICE], fixed(20), Priority::Urgent, Some("facility:Железнодорожный вокзал «Астана-1»"))?,
        true,
        day(-60),
    )
    .await?;
    let airport = add(
        from(commission, commission_4),
        assignment("1.2", "Обеспечить вывод изображения камер видеонаблюдения терминала и привокзальной площади аэропорта в Центр оперативного управления ДП.", AIRPORT, &[POLICE], fixed(-15), Priority::High, Some("facility:Международный аэропорт Нурсултан Назарбаев"))?,
        true,
        day(-60),
    )
    .await?;
    let keruen = add(
        from(commission, commission_4),
        assignment(
            "2.1",
            "Провести обследование ТРЦ «Керуен» и оформить паспорт антитеррористической защищённости.",
            AKIMAT,
            &[POLICE],
            fixed(30),
            Priority::Normal,
            Some("facility:ТРЦ «Керуен»"),
        )?,
        true,
        day(-60),
    )
    .await?;
    // The commission's protocol № 5: a draft still being worded.
    add(
        from(commission, commission_5),
        assignment(
            "2",
            "Провести учения по эвакуации посетителей в ТРЦ «Хан Шатыр» и на стадионе «Астана Арена» с участием ДЧС и полиции.",
            EMERGENCY,
            &[POLICE, AKIMAT],
            fixed(45),
            Priority::Normal,
            None,
        )?,
        false,
        day(-10),
    )
    .await?;

    // The executors' steps and the controller's decisions.
    let report = |text: &str, file: Option<(&str, &str)>| NewReport {
        text: text.into(),
        attachments: file
            .map(|(name, body)| {
                vec![NewAttachment { file_name: name.into(), content_type: "text/plain".into(), bytes: body.as_bytes().to_vec() }]
            })
            .unwrap_or_default(),
    };
    let education = Actor::cli("uo.astana");
    let schools_report = report(
        "Проведено 212 занятий в 96 школах, охвачено 18 400 учащихся; участковые инспекторы участвовали в 174 занятиях.",
        Some(("spravka-zanyatiya.txt", "Справка о проведённых профилактических занятиях\nШкол: 96; занятий: 212; учащихся: 18 400.\n")),
    );
    store.act_on_assignment(schools, AssignmentAction::SubmitReport, "", Some(&schools_report), &education).await?;
    store.act_on_assignment(schools, AssignmentAction::Accept, "Исполнено, снять с контроля.", None, &secretary).await?;

    let airport_actor = Actor::cli("airport.nqz");
    let airport_report = report(
        "Изображение 64 камер терминала и привокзальной площади выведено в ЦОУ ДП; акт приёмки прилагается.",
        Some(("akt-cou.txt", "Акт приёмки: 64 камеры подключены к ЦОУ ДП.\n")),
    );
    store.act_on_assignment(airport, AssignmentAction::SubmitReport, "", Some(&airport_report), &airport_actor).await?;
    store.act_on_assignment(airport, AssignmentAction::Accept, "Принято.", None, &secretary).await?;

    // The quarterly analysis: the last quarter's accepted, the next quarter's period is open.
    let analysis =
        report("Анализ преступности в общественных местах за III квартал с картой очагов (Gi*, 250 м) направлен членам совета.", None);
    store.act_on_assignment(quarterly, AssignmentAction::SubmitReport, "", Some(&analysis), &police).await?;
    store.act_on_assignment(quarterly, AssignmentAction::Accept, "Принято; следующий — по итогам IV квартала.", None, &secretary).await?;

    store
        .act_on_assignment(
            alarms,
            AssignmentAction::SubmitReport,
            "",
            Some(&report("Кнопками тревожной сигнализации оборудованы 37 из 41 торгового объекта; 4 объекта — до конца месяца.", None)),
            &akimat,
        )
        .await?;

    store
        .act_on_assignment(
            patrols,
            AssignmentAction::SubmitReport,
            "",
            Some(&report("График согласован с двумя ТРЦ из пяти.", None)),
            &police,
        )
        .await?;
    store
        .act_on_assignment(patrols, AssignmentAction::Return, "Нужен график со всеми пятью ТРЦ и с указанием нарядов.", None, &secretary)
        .await?;

    let railways = Actor::cli("ktz.astana");
    store
        .request_extension(
            passports,
            day(50),
            "Обследование вокзала «Астана-1» совпадает с ремонтом зала ожидания; просим продлить на 30 дней.",
            &railways,
        )
        .await?;
    store.request_extension(lighting, day(24), "Подрядчик не завершил монтаж опор освещения.", &akimat).await?;
    store.decide_extension(lighting, false, "Срок установлен протоколом; причины не уважительные.", &secretary).await?;
    let _ = (cameras, keruen);

    // The facility register, the measures, a yellow level declared, worked off and lifted.
    let astana = store.territory(&TerritoryName::parse("Astana")?).await?;
    let parsed = qalqan_ingest::facilities::parse_csv(
        "astana-facilities.csv",
        std::path::Path::new("astana-facilities.csv"),
        FACILITIES.as_bytes(),
    )?;
    anyhow::ensure!(parsed.errors.is_empty(), "the demo's facility register has errors: {:?}", parsed.errors);
    let facilities: Vec<_> = parsed.rows.into_iter().map(|(_, f)| f).collect();
    store.import_facilities(astana.id, &facilities, &secretary).await?;
    if store.measures().await?.is_empty() {
        let path = demo_dir.join("measures.csv");
        std::fs::write(&path, MEASURES).with_context(|| format!("writing {}", path.display()))?;
        let (measures, errors) = qalqan_ingest::facilities::read_measures(&path)?;
        anyhow::ensure!(errors.is_empty(), "the starting measures table has errors: {errors:?}");
        store.replace_measures(&measures, &secretary).await?;
    }
    let commander = Actor::cli("dp.astana.commander");
    let level = store
        .declare_threat_level(
            astana.id,
            ThreatLevel::Yellow,
            day(-30),
            Some(day(-12)),
            "Учебный сценарий: информация о возможной подготовке теракта в местах массового пребывания людей.",
            &commander,
        )
        .await?;
    for (n, item) in store.checklist(level).await?.into_iter().enumerate() {
        // Most of the list worked off; what is left shows on the readiness table.
        if n % 5 != 4 {
            store.check_item(item.id, "Выполнено", &Actor::cli("dp.astana")).await?;
        }
    }
    store.lift_threat_level(level, &commander).await?;

    // An inspection of the railway station; its findings became assignments of the commission.
    let station = store
        .facilities(astana.id)
        .await?
        .into_iter()
        .find(|f| f.facility.external_id == "AST-002")
        .context("the demo register has no AST-002")?;
    let findings = [
        assignment(
            "",
            "Восстановить освещение периметра и парковки вокзала «Астана-1» (не работают 9 опор).",
            RAILWAYS,
            &[],
            fixed(-25 + 20),
            Priority::High,
            Some("facility:Железнодорожный вокзал «Астана-1»"),
        )?,
        assignment(
            "",
            "Подключить камеры видеонаблюдения вокзала «Астана-1» к Центру оперативного управления ДП.",
            RAILWAYS,
            &[POLICE],
            fixed(-25 + 45),
            Priority::Normal,
            Some("facility:Железнодорожный вокзал «Астана-1»"),
        )?,
    ];
    store
        .add_inspection(
            astana.id,
            &NewInspection {
                facility_id: station.id,
                held_on: day(-25),
                inspector: "Рабочая группа АТК (ДП, ДЧС, ДКНБ)".into(),
                summary: "Паспорт просрочен; освещение периметра частично не работает; камеры не выведены в ЦОУ.".into(),
            },
            &findings,
            commission,
            day(-25),
            &secretary,
        )
        .await?;
    Ok(true)
}

fn items(list: &[(&str, &str)]) -> Vec<ProtocolItem> {
    list.iter().map(|(n, t)| ProtocolItem { number: (*n).to_owned(), text: (*t).to_owned() }).collect()
}

fn members(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(a, p)| ((*a).to_owned(), (*p).to_owned())).collect()
}

fn assignment(
    item: &str,
    text: &str,
    executor: &str,
    co: &[&str],
    deadline: Deadline,
    priority: Priority,
    place: Option<&str>,
) -> anyhow::Result<NewAssignment> {
    let co: Vec<String> = co.iter().map(|c| (*c).to_owned()).collect();
    Ok(NewAssignment::new(item, text, executor, None, &co, CONTROLLER, deadline, priority, place)?)
}

/// Incidents generated for Astana (not real), with cameras and posts: 8,000 over the two years
/// before `today`, 55 % around the protected places of the register (stations, the airport,
/// malls, the stadium: theft, robbery, fraud, hooliganism; their busy hours), 30 % around five
/// residential centres (burglary, vehicle theft, assault; evenings and nights), 15 % anywhere in
/// the city. Written once into the demo folder and imported once (the import is idempotent).
pub async fn incidents(store: &Store, demo_dir: &std::path::Path, today: NaiveDate, actor: &Actor) -> anyhow::Result<()> {
    let territory = store.territory(&TerritoryName::parse("Astana")?).await?;
    let Some(boundary) = territory.boundary.clone() else { return Ok(()) };
    let csv = demo_dir.join("astana-generated.csv");
    if !csv.exists() {
        std::fs::write(&csv, generated(&boundary, today, 20_261_205))?;
    }
    let mapping = demo_dir.join("astana-generated.toml");
    std::fs::write(&mapping, super::GENERATED_MAPPING)?;
    crate::import::import_file(
        store,
        &territory,
        &csv,
        &qalqan_ingest::Mapping::from_file(&mapping)?,
        crate::import::InvalidRows::AbortFile,
        None,
        actor,
    )
    .await?;
    if store.cameras(territory.id).await?.is_empty() {
        let mut text = String::from("id,lat,lon,bearing,fov,range,owner,link,status\n");
        for (k, (lat, lon, _)) in anchors().iter().take(15).enumerate() {
            for j in 0..3 {
                let (dlat, dlon) = (0.0004 * (j as f64 - 1.0), 0.0006 * ((k + j) % 3) as f64 - 0.0006);
                let link = if (k + j) % 3 == 0 { "standalone" } else { "connected" };
                text += &format!(
                    "AST-C{}-{j},{:.6},{:.6},{},90,40,street,{link},working\n",
                    k + 1,
                    lat + dlat,
                    lon + dlon,
                    (k * 47 + j * 120) % 360
                );
            }
        }
        let file = demo_dir.join("astana-cameras.csv");
        std::fs::write(&file, text)?;
        let register = qalqan_ingest::cameras::read_cameras(&file)?;
        let cameras: Vec<_> = register.rows.into_iter().map(|(_, c)| c).collect();
        store.import_cameras(territory.id, &cameras, actor).await?;
    }
    if store.posts(territory.id).await?.is_empty() {
        let mut text = String::from("id,kind,name,lat,lon,hours,vehicle,officers\n");
        for (k, (lat, lon, name)) in anchors().iter().take(4).enumerate() {
            text += &format!("AST-P{},stationary,Пост: {},{lat:.6},{lon:.6},08:00-22:00,,2\n", k + 1, name.replace([',', '"'], " "));
        }
        text += "AST-M1,mobile,Мобильный пункт № 1,51.1605,71.4704,18:00-02:00,ПП-01,3\n";
        let file = demo_dir.join("astana-posts.csv");
        std::fs::write(&file, text)?;
        let register = qalqan_ingest::posts::read_posts(&file)?;
        let posts: Vec<_> = register.rows.into_iter().map(|(_, p)| p).collect();
        store.import_posts(territory.id, &posts, actor).await?;
    }
    Ok(())
}

/// The busy places incidents gather around: the register's facilities (lat, lon, name).
fn anchors() -> Vec<(f64, f64, String)> {
    FACILITIES
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Some((f.get(4)?.parse().ok()?, f.get(5)?.parse().ok()?, (*f.get(1)?).to_owned()))
        })
        .collect()
}

/// The generated incidents as CSV (category,time,lat,lon); deterministic for a seed and a day.
fn generated(boundary: &qalqan_domain::Area, today: NaiveDate, seed: u64) -> String {
    use qalqan_analysis::rng::Rng;
    let mut rng = Rng::seed(seed);
    let places = anchors();
    let homes = [(51.1850, 71.4100), (51.1500, 71.4800), (51.1000, 71.4200), (51.1700, 71.4400), (51.1250, 71.3700)];
    let [x0, y0, x1, y1] = boundary.bbox();
    let start = today - Duration::days(730);
    let mut out = String::from("category,time,lat,lon\n");
    let mut written = 0;
    while written < 8_000 {
        let u = rng.unit();
        let (at, sigma, category, hour) = if u < 0.55 {
            let (lat, lon, _) = &places[rng.below(places.len() as u64) as usize];
            let hour = [9, 11, 12, 13, 15, 17, 18, 19, 20, 21][rng.below(10) as usize];
            (
                (*lat, *lon),
                120.0,
                super::pick(&mut rng, &[("theft", 0.55), ("robbery", 0.15), ("fraud", 0.15), ("hooliganism", 0.15)]),
                hour,
            )
        } else if u < 0.85 {
            let c = homes[rng.below(homes.len() as u64) as usize];
            let hour = [18, 19, 20, 21, 22, 23, 0, 1, 2][rng.below(9) as usize];
            (c, 600.0, super::pick(&mut rng, &[("burglary", 0.4), ("vehicle_theft", 0.3), ("assault", 0.3)]), hour)
        } else {
            (
                (y0 + (y1 - y0) * rng.unit(), x0 + (x1 - x0) * rng.unit()),
                0.0,
                super::pick(&mut rng, &[("theft", 0.5), ("vandalism", 0.5)]),
                rng.below(24) as u32,
            )
        };
        let (r, t) = ((-2.0 * (1.0 - rng.unit()).ln()).sqrt() * sigma, std::f64::consts::TAU * rng.unit());
        let lat = at.0 + r * t.sin() / 111_320.0;
        let lon = at.1 + r * t.cos() / (111_320.0 * at.0.to_radians().cos());
        let Ok(p) = qalqan_domain::Wgs84Point::new(lat, lon) else { continue };
        if !boundary.contains(p) {
            continue;
        }
        // More in summer; a slow rise over the two years.
        let day = loop {
            let k = rng.below(730) as i64;
            let d = start + Duration::days(k);
            let summer = matches!(d.month(), 6..=8);
            if rng.unit() < (0.75 + 0.25 * f64::from(u8::from(summer))) * (0.85 + 0.15 * k as f64 / 730.0) {
                break d;
            }
        };
        out += &format!("{category},{} {hour:02}:{:02},{lat:.6},{lon:.6}\n", day.format("%Y-%m-%d"), rng.below(60));
        written += 1;
    }
    out
}
