//! A department month: the period summary, CSV, XLSX and T-13 agree with each other and
//! with hand-computed figures (issue 7).

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use faceid_server::timesheet::export::{self, EmployeeInfo, T13Header};
use faceid_server::timesheet::summary::{
    EmployeeSummary, summarize_department, summarize_employee,
};
use faceid_server::timesheet::*;

const TZ: Tz = chrono_tz::Asia::Dushanbe;

fn d(day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, day).expect("date")
}
fn at(day: u32, h: u32, m: u32) -> DateTime<Utc> {
    TZ.from_local_datetime(&d(day).and_time(NaiveTime::from_hms_opt(h, m, 0).expect("time")))
        .single()
        .expect("local")
        .with_timezone(&Utc)
}

struct Month {
    people: Vec<(EmployeeInfo, Vec<DayRecord>)>,
}

/// Weekly Mon–Fri 09:00–18:00 (1 h break, 10 min grace) for department 5; holidays
/// March 23 and 24 (Navruz). March 2026 then has 20 working days (10 per half).
fn month() -> Month {
    let mut shift = ShiftTemplate::new(
        "office",
        NaiveTime::from_hms_opt(9, 0, 0).expect("t"),
        NaiveTime::from_hms_opt(18, 0, 0).expect("t"),
    );
    shift.unpaid_break_minutes = 60;
    shift.late_grace_minutes = 10;
    let book = ScheduleBook::new(vec![Assignment {
        target: AssignmentTarget::Department(5),
        from: d(1),
        to: None,
        schedule: ScheduleKind::Weekly {
            days: std::array::from_fn(|i| (i < 5).then(|| shift.clone())),
        },
    }])
    .expect("book");
    let holiday = |day| CalendarEntry {
        date: d(day),
        kind: DayOverride::Holiday {
            name: "Навруз".into(),
        },
    };
    let calendar = HolidayCalendar::new(vec![
        YearCalendar::new(2026, vec![holiday(23), holiday(24)]).expect("year"),
    ])
    .expect("cal");
    let absences = Absences::new(vec![Absence {
        employee: 2,
        kind: AbsenceKind::SickLeave,
        from: d(2),
        to: d(6),
    }])
    .expect("absences");
    let working: Vec<u32> = (1..=31)
        .filter(|day| {
            let wd = chrono::Datelike::weekday(&d(*day)).num_days_from_monday();
            wd < 5 && *day != 23 && *day != 24
        })
        .collect();
    assert_eq!(working.len(), 20);

    let mut id = 0;
    let mut next = || {
        id += 1;
        id
    };
    let mut punch = |events: &mut Vec<AttendanceEvent>,
                     day: u32,
                     (h1, m1): (u32, u32),
                     (h2, m2): (u32, u32)| {
        events.push(AttendanceEvent {
            id: next(),
            at: at(day, h1, m1),
            kind: PunchKind::In,
            status: EventStatus::Verified,
        });
        events.push(AttendanceEvent {
            id: next(),
            at: at(day, h2, m2),
            kind: PunchKind::Out,
            status: EventStatus::Verified,
        });
    };
    // A: every working day 09:00–18:00.
    let mut a = Vec::new();
    for &day in &working {
        punch(&mut a, day, (9, 0), (18, 0));
    }
    // B: sick 2–6, late 30 min on the 10th, Saturday 14th 10:00–14:00, absent on the 31st.
    let mut b = Vec::new();
    for &day in working
        .iter()
        .filter(|x| !(2..=6).contains(*x) && **x != 31)
    {
        punch(
            &mut b,
            day,
            if day == 10 { (9, 30) } else { (9, 0) },
            (18, 0),
        );
    }
    punch(&mut b, 14, (10, 0), (14, 0));
    // C: no check-out on the 5th, only a pending check-in on the 12th, until 19:00 on the 16th.
    let mut c = Vec::new();
    for &day in working.iter().filter(|x| ![5, 12].contains(*x)) {
        punch(
            &mut c,
            day,
            (9, 0),
            if day == 16 { (19, 0) } else { (18, 0) },
        );
    }
    c.push(AttendanceEvent {
        id: 900,
        at: at(5, 8, 50),
        kind: PunchKind::In,
        status: EventStatus::Verified,
    });
    c.push(AttendanceEvent {
        id: 901,
        at: at(12, 9, 0),
        kind: PunchKind::In,
        status: EventStatus::FlaggedPending,
    });

    let info = |id: i64, name: &str, pos: &str| EmployeeInfo {
        id,
        full_name: name.into(),
        position: pos.into(),
        personnel_number: format!("{id:05}"),
    };
    let period = Period::month(2026, 3).expect("month");
    let people = [
        (info(1, "Рахимов Алишер", "инженер"), a),
        (info(2, "Иванова Мария \"Маша\", старшая", "бухгалтер"), b),
        (info(3, "Каримов Фарход", "оператор"), c),
    ]
    .into_iter()
    .map(|(info, events)| {
        let facts = EmployeeFacts {
            employee: info.id,
            department: Some(5),
            tz: TZ,
            book: &book,
            calendar: &calendar,
            absences: &absences,
            events: &events,
            rules: ComputeRules::default(),
            now: None,
        };
        let days = compute_period(&facts, period);
        (info, days)
    })
    .collect();
    Month { people }
}

fn summaries(m: &Month) -> Vec<EmployeeSummary> {
    m.people
        .iter()
        .map(|(i, days)| summarize_employee(i.id, days))
        .collect()
}

#[test]
fn summary_matches_hand_computed_figures() {
    let m = month();
    let s = summaries(&m);
    // A: 20 days × 8 h.
    assert_eq!(
        (
            s[0].days_worked,
            s[0].worked_minutes,
            s[0].late_count,
            s[0].absences
        ),
        (20, 9600, 0, 0)
    );
    assert_eq!((s[0].days_off, s[0].holidays), (9, 2));
    // B: 14 weekdays (one 7.5 h) + Saturday 4 h = 15 days, 6930 min = 115.5 h.
    assert_eq!((s[1].days_worked, s[1].worked_minutes), (15, 6930));
    assert_eq!(
        (s[1].late_count, s[1].late_minutes, s[1].absences),
        (1, 30, 1)
    );
    assert_eq!(s[1].leave(AbsenceKind::SickLeave), 5);
    assert_eq!(s[1].days_worked_on_day_off_or_holiday, 1);
    // C: 18 days; the 16th is 10 h − 1 h break = 9 h (60 min overtime).
    assert_eq!(
        (s[2].days_worked, s[2].worked_minutes, s[2].overtime_minutes),
        (18, 8700, 60)
    );
    assert_eq!(
        (s[2].missing_checkouts, s[2].pending_events, s[2].absences),
        (1, 1, 1)
    );
    let dep = summarize_department(5, &s);
    assert_eq!(
        (
            dep.employees,
            dep.days_worked,
            dep.worked_minutes,
            dep.absences
        ),
        (3, 53, 25230, 2)
    );
    // Recomputing gives identical records.
    let again = month();
    assert_eq!(again.people, m.people);
}

fn xlsx_range(bytes: Vec<u8>, sheet: &str) -> calamine::Range<Data> {
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).expect("xlsx opens");
    wb.worksheet_range(sheet).expect("sheet")
}
fn s_at(r: &calamine::Range<Data>, row: u32, col: u32) -> String {
    match r.get_value((row, col)) {
        Some(Data::String(s)) => s.clone(),
        Some(Data::Float(f)) => format!("{f}"),
        Some(Data::Int(i)) => format!("{i}"),
        Some(Data::Empty) | None => String::new(),
        Some(other) => format!("{other:?}"),
    }
}
fn f_at(r: &calamine::Range<Data>, row: u32, col: u32) -> f64 {
    match r.get_value((row, col)) {
        Some(Data::Float(f)) => *f,
        Some(Data::Int(i)) => *i as f64,
        other => panic!("no number at ({row},{col}): {other:?}"),
    }
}

#[test]
fn csv_and_xlsx_summary_agree_with_the_summary() {
    let m = month();
    let s = summaries(&m);
    let csv_bytes = export::summary_csv(&m.people).expect("csv");
    assert!(
        csv_bytes.starts_with(b"\xEF\xBB\xBF"),
        "UTF-8 BOM for Excel"
    );
    let mut rdr = csv::Reader::from_reader(&csv_bytes[3..]);
    let headers = rdr.headers().expect("headers").clone();
    assert_eq!(
        headers.iter().collect::<Vec<_>>(),
        export::SUMMARY_COLUMNS.to_vec()
    );
    let rows: Vec<csv::StringRecord> = rdr.records().collect::<Result<_, _>>().expect("rows");
    assert_eq!(rows.len(), 3);
    // Quoting: the name with a comma and quotes comes back intact.
    assert_eq!(&rows[1][2], "Иванова Мария \"Маша\", старшая");
    let xlsx = xlsx_range(export::summary_xlsx(&m.people).expect("xlsx"), "Summary");
    for (i, (row, sum)) in rows.iter().zip(&s).enumerate() {
        let x = (i + 1) as u32;
        let col = |name: &str| {
            export::SUMMARY_COLUMNS
                .iter()
                .position(|c| *c == name)
                .expect("column")
        };
        let num = |name: &str| row[col(name)].parse::<f64>().expect("number");
        assert_eq!(num("days_worked"), f64::from(sum.days_worked));
        assert_eq!(num("worked_hours"), sum.worked_minutes as f64 / 60.0);
        assert_eq!(num("late_minutes"), sum.late_minutes as f64);
        assert_eq!(num("absences"), f64::from(sum.absences));
        assert_eq!(
            num("sick_leave_days"),
            f64::from(sum.leave(AbsenceKind::SickLeave))
        );
        assert_eq!(num("overtime_hours"), sum.overtime_minutes as f64 / 60.0);
        for (c, name) in export::SUMMARY_COLUMNS.iter().enumerate() {
            let from_csv = &row[c];
            let from_xlsx = s_at(&xlsx, x, c as u32);
            assert_eq!(from_csv, from_xlsx, "{name} of row {x}");
        }
    }
    assert_eq!(s_at(&xlsx, 2, 5), "115.5");
}

#[test]
fn daily_detail_csv_and_xlsx_agree() {
    let m = month();
    let csv_bytes = export::daily_csv(&m.people, TZ).expect("csv");
    let mut rdr = csv::Reader::from_reader(&csv_bytes[3..]);
    let rows: Vec<csv::StringRecord> = rdr.records().collect::<Result<_, _>>().expect("rows");
    assert_eq!(rows.len(), 93);
    let b10 = rows
        .iter()
        .find(|r| &r[0] == "2" && &r[3] == "2026-03-10")
        .expect("row");
    assert_eq!(
        (&b10[4], &b10[5], &b10[6], &b10[7], &b10[8], &b10[10]),
        (
            "late",
            "Я",
            "2026-03-10 09:30",
            "2026-03-10 18:00",
            "450",
            "30"
        )
    );
    let total: i64 = rows
        .iter()
        .filter(|r| &r[0] == "2")
        .map(|r| r[8].parse::<i64>().expect("minutes"))
        .sum();
    assert_eq!(total, 6930);
    let xlsx = xlsx_range(export::daily_xlsx(&m.people, TZ).expect("xlsx"), "Daily");
    for (i, row) in rows.iter().enumerate() {
        for c in 0..export::DAILY_COLUMNS.len() {
            assert_eq!(row[c], s_at(&xlsx, (i + 1) as u32, c as u32));
        }
    }
}

#[test]
fn t13_cells_match_day_records_and_summary() {
    let m = month();
    let s = summaries(&m);
    let header = T13Header {
        organisation: "ООО «Пример»".into(),
        okpo: "12345678".into(),
        department: "Бухгалтерия".into(),
        document_number: "3".into(),
        prepared_on: d(31),
    };
    let period = Period::month(2026, 3).expect("month");
    let bytes = export::t13_xlsx(&header, period, &m.people).expect("t13");
    let r = xlsx_range(bytes, "Т-13");
    assert_eq!(s_at(&r, 3, 25), "0301008");
    assert_eq!(s_at(&r, 4, 0), "ООО «Пример»");
    assert_eq!(s_at(&r, 6, 0), "Бухгалтерия");
    assert_eq!(
        (s_at(&r, 10, 10), s_at(&r, 10, 12)),
        ("3".into(), "31.03.2026".into())
    );
    assert_eq!(
        (s_at(&r, 10, 14), s_at(&r, 10, 15)),
        ("01.03.2026".into(), "31.03.2026".into())
    );

    let top = |i: u32| export::T13_FIRST_ROW + 4 * i;
    let day_cell = |i: u32, day: u32| -> (String, String) {
        let (row, col) = if day <= 15 {
            (top(i), 3 + day - 1)
        } else {
            (top(i) + 2, 3 + day - 16)
        };
        (s_at(&r, row, col), s_at(&r, row + 1, col))
    };
    for (i, (info, days)) in m.people.iter().enumerate() {
        let i = i as u32;
        assert_eq!(s_at(&r, top(i), 2), info.personnel_number);
        assert!(s_at(&r, top(i), 1).starts_with(&info.full_name));
        // Every day cell equals the code and hours of its day record.
        for rec in days {
            let cell = export::t13_day(rec);
            assert_eq!(
                day_cell(i, chrono::Datelike::day(&rec.date)),
                (cell.code_text(), cell.hours_text()),
                "{:?}",
                rec.date
            );
        }
        assert_eq!(s_at(&r, top(i), 18), "X");
        // Totals agree with the period summary.
        let sum = &s[i as usize];
        let halves = f_at(&r, top(i), 19) + f_at(&r, top(i) + 2, 19);
        assert_eq!(halves, f64::from(sum.days_worked));
        assert_eq!(f_at(&r, top(i), 20), f64::from(sum.days_worked));
        assert_eq!(f_at(&r, top(i), 21), sum.worked_hours());
        assert_eq!(
            f_at(&r, top(i) + 1, 19) + f_at(&r, top(i) + 3, 19),
            sum.worked_hours()
        );
    }
    // Hand-computed cells and totals.
    assert_eq!(day_cell(0, 2), ("Я".into(), "8".into()));
    assert_eq!(day_cell(0, 1), ("В".into(), "".into()));
    assert_eq!(day_cell(0, 23), ("В".into(), "".into()));
    assert_eq!(
        (
            f_at(&r, top(0), 19),
            f_at(&r, top(0) + 1, 19),
            f_at(&r, top(0), 21)
        ),
        (10.0, 80.0, 160.0)
    );
    assert_eq!(day_cell(1, 2), ("Б".into(), "".into()));
    assert_eq!(day_cell(1, 10), ("Я".into(), "7.5".into()));
    assert_eq!(day_cell(1, 14), ("РВ".into(), "4".into()));
    assert_eq!(day_cell(1, 31), ("НН".into(), "".into()));
    assert_eq!(
        (f_at(&r, top(1), 19), f_at(&r, top(1) + 1, 19)),
        (6.0, 43.5)
    );
    assert_eq!(
        (f_at(&r, top(1) + 2, 19), f_at(&r, top(1) + 3, 19)),
        (9.0, 72.0)
    );
    assert_eq!((f_at(&r, top(1), 20), f_at(&r, top(1), 21)), (15.0, 115.5));
    // Absences by reason: Б 5 days, НН 1 day.
    assert_eq!(
        (s_at(&r, top(1), 24), f_at(&r, top(1), 25)),
        ("Б".into(), 5.0)
    );
    assert_eq!(
        (s_at(&r, top(1), 26), f_at(&r, top(1), 27)),
        ("НН".into(), 1.0)
    );
    assert_eq!(day_cell(2, 16), ("Я/С".into(), "8/1".into()));
    assert_eq!(day_cell(2, 5), ("Я".into(), "0".into()));
    assert_eq!(day_cell(2, 12), ("НН".into(), "".into()));
    assert_eq!((f_at(&r, top(2), 20), f_at(&r, top(2), 21)), (18.0, 145.0));
}

/// The XML part `name` of an XLSX package.
fn xlsx_part(bytes: &[u8], name: &str) -> String {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).expect("xlsx is a zip");
    let mut part = zip.by_name(name).expect("part");
    let mut xml = String::new();
    std::io::Read::read_to_string(&mut part, &mut xml).expect("utf-8 xml");
    xml
}

/// The value of `attr` in the first tag of `tag_text` (`None` when absent).
fn xml_attr<'a>(tag_text: &'a str, attr: &str) -> Option<&'a str> {
    let head = &tag_text[..tag_text.find('>').unwrap_or(tag_text.len())];
    let start = head.find(&format!(" {attr}=\""))? + attr.len() + 3;
    let len = head[start..].find('"')?;
    Some(&head[start..start + len])
}

fn column_letters(col: u16) -> String {
    let mut n = u32::from(col) + 1;
    let mut s = Vec::new();
    while n > 0 {
        s.push(b'A' + ((n - 1) % 26) as u8);
        n = (n - 1) / 26;
    }
    s.reverse();
    String::from_utf8(s).expect("ascii")
}

#[test]
fn t13_table_is_a_bordered_grid() {
    let m = month();
    let header = T13Header {
        organisation: "O".into(),
        okpo: String::new(),
        department: "D".into(),
        document_number: "1".into(),
        prepared_on: d(31),
    };
    let period = Period::month(2026, 3).expect("month");
    let bytes = export::t13_xlsx(&header, period, &m.people).expect("t13");
    // Cell formats (`cellXfs`, in index order): border id and horizontal alignment.
    let styles = xlsx_part(&bytes, "xl/styles.xml");
    let xfs_start = styles.find("<cellXfs").expect("cellXfs");
    let xfs_end = styles[xfs_start..].find("</cellXfs>").expect("end") + xfs_start;
    let xfs: Vec<(String, String)> = styles[xfs_start..xfs_end]
        .split("<xf ")
        .skip(1)
        .map(|x| {
            let x = format!(" {x}");
            let border = xml_attr(&x, "borderId").unwrap_or("0").to_owned();
            let align = x
                .find("<alignment")
                .and_then(|i| xml_attr(&x[i..], "horizontal"))
                .unwrap_or("")
                .to_owned();
            (border, align)
        })
        .collect();
    // Every cell's style index, by reference ("D15").
    let sheet = xlsx_part(&bytes, "xl/worksheets/sheet1.xml");
    let styles_of: std::collections::HashMap<String, usize> = sheet
        .split("<c ")
        .skip(1)
        .map(|c| {
            let c = format!(" {c}");
            let r = xml_attr(&c, "r").expect("cell reference").to_owned();
            let s = xml_attr(&c, "s").map_or(0, |s| s.parse().expect("style index"));
            (r, s)
        })
        .collect();
    let first = export::T13_FIRST_ROW + 1;
    let last = export::T13_FIRST_ROW + 4 * m.people.len() as u32;
    for row in first..=last {
        for col in 0..=export::T13_LAST_COL {
            let reference = format!("{}{row}", column_letters(col));
            let xf = styles_of
                .get(&reference)
                .unwrap_or_else(|| panic!("{reference} is not written"));
            let (border, align) = &xfs[*xf];
            assert_ne!(border, "0", "{reference} has no border");
            let expected = if col == 1 { "left" } else { "center" };
            assert_eq!(align, expected, "{reference}");
        }
    }
    // Nothing bordered below the table but the legend's plain text.
    let below = format!("D{}", last + 1);
    assert!(!styles_of.contains_key(&below), "{below} is written");
}

#[test]
fn t13_marks_missing_days_and_refuses_non_months() {
    let feb = Period::month(2026, 2).expect("month");
    let info = EmployeeInfo {
        id: 1,
        full_name: "Test".into(),
        position: String::new(),
        personnel_number: "1".into(),
    };
    let header = T13Header {
        organisation: "O".into(),
        okpo: String::new(),
        department: "D".into(),
        document_number: "1".into(),
        prepared_on: d(1),
    };
    let r = xlsx_range(
        export::t13_xlsx(&header, feb, &[(info.clone(), Vec::new())]).expect("t13"),
        "Т-13",
    );
    let top = export::T13_FIRST_ROW;
    for day in 29..=31 {
        assert_eq!(s_at(&r, top + 2, 3 + day - 16), "X", "day {day}");
    }
    assert_eq!(s_at(&r, top + 2, 3 + 28 - 16), "");
    let not_month = Period::new(d(1), d(10)).expect("period");
    assert!(matches!(
        export::t13_xlsx(&header, not_month, &[]),
        Err(export::ExportError::NotAMonth { .. })
    ));
    // A record from another month is refused, not silently dropped.
    let m = month();
    let march_days = m.people[0].1.clone();
    assert!(matches!(
        export::t13_xlsx(&header, feb, &[(m.people[0].0.clone(), march_days)]),
        Err(export::ExportError::OutsidePeriod { .. })
    ));
}
