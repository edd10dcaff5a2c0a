//! T-13 follows the unified form No. T-13 (OKUD 0301008) approved by Goskomstat of Russia
//! resolution No. 1 of 05.01.2004: header (organisation, OKPO, structural unit, document
//! number, date of preparation, reporting period from/to), the table with columns
//! 1 number, 2 full name and position, 3 personnel number, 4 marks per day in two
//! half-month lines (days 1–15 plus an "X" 16th cell; days 16–31 with "X" for days the
//! month lacks), each with a code line and an hours line, 5 worked days/hours per half,
//! 6–7 worked days and hours per month, 8–9 payroll code and account (left blank for
//! payroll), 10–13 absences by reason (code, days), and the codes' letter and digital
//! forms: Я 01, Н 02, РВ 03, С 04, К 06, ОТ 09, ДО 16, Б 19, В 26, НН 30.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook, Worksheet};
use serde::{Deserialize, Serialize};

use super::{EmployeeInfo, ExportError, MAX_EXPORT_EMPLOYEES, check_len};
use crate::timesheet::Period;
use crate::timesheet::calendar::AbsenceKind;
use crate::timesheet::compute::{DayRecord, DayStatus};
use crate::timesheet::summary::minutes_to_hours;

/// T-13 letter codes used by the product (letter, digital code, meaning).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum T13Code {
    Work,
    Night,
    HolidayWork,
    Overtime,
    BusinessTrip,
    AnnualLeave,
    UnpaidLeave,
    Sick,
    DayOff,
    Unknown,
}

impl T13Code {
    pub const ALL: [T13Code; 10] = [
        T13Code::Work,
        T13Code::Night,
        T13Code::HolidayWork,
        T13Code::Overtime,
        T13Code::BusinessTrip,
        T13Code::AnnualLeave,
        T13Code::UnpaidLeave,
        T13Code::Sick,
        T13Code::DayOff,
        T13Code::Unknown,
    ];
    pub fn letter(self) -> &'static str {
        match self {
            T13Code::Work => "Я",
            T13Code::Night => "Н",
            T13Code::HolidayWork => "РВ",
            T13Code::Overtime => "С",
            T13Code::BusinessTrip => "К",
            T13Code::AnnualLeave => "ОТ",
            T13Code::UnpaidLeave => "ДО",
            T13Code::Sick => "Б",
            T13Code::DayOff => "В",
            T13Code::Unknown => "НН",
        }
    }
    pub fn digital(self) -> &'static str {
        match self {
            T13Code::Work => "01",
            T13Code::Night => "02",
            T13Code::HolidayWork => "03",
            T13Code::Overtime => "04",
            T13Code::BusinessTrip => "06",
            T13Code::AnnualLeave => "09",
            T13Code::UnpaidLeave => "16",
            T13Code::Sick => "19",
            T13Code::DayOff => "26",
            T13Code::Unknown => "30",
        }
    }
    pub fn meaning(self) -> &'static str {
        match self {
            T13Code::Work => "Продолжительность работы в дневное время",
            T13Code::Night => "Продолжительность работы в ночное время",
            T13Code::HolidayWork => {
                "Продолжительность работы в выходные и нерабочие праздничные дни"
            }
            T13Code::Overtime => "Продолжительность сверхурочной работы",
            T13Code::BusinessTrip => "Служебная командировка",
            T13Code::AnnualLeave => "Ежегодный основной оплачиваемый отпуск",
            T13Code::UnpaidLeave => {
                "Отпуск без сохранения заработной платы, предоставленный с разрешения работодателя"
            }
            T13Code::Sick => "Временная нетрудоспособность с назначением пособия",
            T13Code::DayOff => "Выходные дни (еженедельный отпуск) и нерабочие праздничные дни",
            T13Code::Unknown => "Неявки по невыясненным причинам",
        }
    }
    fn for_absence(kind: AbsenceKind) -> Self {
        match kind {
            AbsenceKind::AnnualLeave => T13Code::AnnualLeave,
            AbsenceKind::SickLeave => T13Code::Sick,
            AbsenceKind::BusinessTrip => T13Code::BusinessTrip,
            AbsenceKind::UnpaidLeave => T13Code::UnpaidLeave,
        }
    }
    /// The code of a letter as [`T13Code::letter`] writes it.
    pub fn from_letter(letter: &str) -> Option<Self> {
        T13Code::ALL.into_iter().find(|c| c.letter() == letter)
    }
    /// Codes counted in the "absences by reason" columns.
    pub fn is_absence(self) -> bool {
        matches!(
            self,
            T13Code::BusinessTrip
                | T13Code::AnnualLeave
                | T13Code::UnpaidLeave
                | T13Code::Sick
                | T13Code::Unknown
        )
    }
}

/// One day's cell: codes with their minutes (the minutes of a work day add up to the
/// day's worked minutes).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct T13Day {
    pub parts: Vec<(T13Code, i64)>,
    /// Counted as a worked day (worked minutes > 0), matching the period summary.
    pub worked: bool,
    pub worked_minutes: i64,
}

impl T13Day {
    pub fn code_text(&self) -> String {
        self.parts
            .iter()
            .map(|(c, _)| c.letter())
            .collect::<Vec<_>>()
            .join("/")
    }
    pub fn hours_text(&self) -> String {
        if self
            .parts
            .iter()
            .all(|(c, _)| c.is_absence() || *c == T13Code::DayOff)
        {
            return String::new();
        }
        self.parts
            .iter()
            .map(|(_, m)| fmt_hours(*m))
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// Hours as the form shows them: "8", "7.5", "6.25".
pub fn fmt_hours(minutes: i64) -> String {
    let h = minutes_to_hours(minutes);
    let s = format!("{h:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// The T-13 cell of a day record.
pub fn t13_day(r: &DayRecord) -> T13Day {
    let mut day = T13Day {
        worked: r.worked_minutes > 0,
        worked_minutes: r.worked_minutes,
        parts: Vec::new(),
    };
    match r.status {
        DayStatus::OnLeave { kind } => day.parts.push((T13Code::for_absence(kind), 0)),
        DayStatus::Absent if r.is_final => day.parts.push((T13Code::Unknown, 0)),
        DayStatus::DayOff | DayStatus::Holiday => day.parts.push((T13Code::DayOff, 0)),
        DayStatus::Absent | DayStatus::Upcoming => {}
        DayStatus::Present
        | DayStatus::Late { .. }
        | DayStatus::LeftEarly { .. }
        | DayStatus::MissingCheckOut
        | DayStatus::InProgress => {
            let worked = r.worked_minutes;
            let overtime = r.overtime_minutes.clamp(0, worked);
            let night = r.night_minutes.clamp(0, worked - overtime);
            let rest = worked - overtime - night;
            let main = if r.worked_on_day_off || r.worked_on_holiday {
                T13Code::HolidayWork
            } else {
                T13Code::Work
            };
            if rest > 0 || (night == 0 && overtime == 0) {
                day.parts.push((main, rest));
            }
            if night > 0 {
                day.parts.push((T13Code::Night, night));
            }
            if overtime > 0 {
                day.parts.push((T13Code::Overtime, overtime));
            }
        }
    }
    day
}

/// One employee's line of the T-13.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct T13Row {
    pub number: usize,
    pub employee: EmployeeInfo,
    /// Index 0 = day 1; `None` for days the month lacks (shown as "X").
    pub days: [Option<T13Day>; 31],
    pub first_half_days: u32,
    pub first_half_minutes: i64,
    pub second_half_days: u32,
    pub second_half_minutes: i64,
    /// Absences by reason: code → days.
    pub absences: BTreeMap<T13Code, u32>,
}

impl T13Row {
    pub fn month_days(&self) -> u32 {
        self.first_half_days + self.second_half_days
    }
    pub fn month_minutes(&self) -> i64 {
        self.first_half_minutes + self.second_half_minutes
    }
}

/// Header fields of the form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct T13Header {
    pub organisation: String,
    pub okpo: String,
    pub department: String,
    pub document_number: String,
    pub prepared_on: NaiveDate,
}

/// Build the rows of a T-13 from each employee's day records of `month`.
pub fn t13_rows(
    month: Period,
    employees: &[(EmployeeInfo, Vec<DayRecord>)],
) -> Result<Vec<T13Row>, ExportError> {
    if !month.is_month() {
        return Err(ExportError::NotAMonth {
            from: month.from(),
            to: month.to(),
        });
    }
    check_len("T-13 employees", employees.len(), MAX_EXPORT_EMPLOYEES)?;
    let mut rows = Vec::with_capacity(employees.len());
    for (i, (info, records)) in employees.iter().enumerate() {
        let mut row = T13Row {
            number: i + 1,
            employee: info.clone(),
            days: std::array::from_fn(|_| None),
            first_half_days: 0,
            first_half_minutes: 0,
            second_half_days: 0,
            second_half_minutes: 0,
            absences: BTreeMap::new(),
        };
        for d in month.days() {
            row.days[d.day0() as usize] = Some(T13Day::default());
        }
        for r in records {
            if r.date < month.from() || r.date > month.to() || r.employee != info.id {
                return Err(ExportError::OutsidePeriod {
                    employee: r.employee,
                    date: r.date,
                });
            }
            let day = t13_day(r);
            let first = r.date.day() <= 15;
            if day.worked {
                if first {
                    row.first_half_days += 1;
                    row.first_half_minutes += day.worked_minutes;
                } else {
                    row.second_half_days += 1;
                    row.second_half_minutes += day.worked_minutes;
                }
            }
            for (c, _) in &day.parts {
                if c.is_absence() {
                    *row.absences.entry(*c).or_default() += 1;
                }
            }
            row.days[r.date.day0() as usize] = Some(day);
        }
        rows.push(row);
    }
    Ok(rows)
}

// ---------------------------------------------------------------------------------------
// T-13 layout.

/// Row of the first employee line in the T-13 sheet (0-based).
pub const T13_FIRST_ROW: u32 = 14;
/// Column of day 1 (0-based); days 1–16 (the 16th cell "X") and 16–31 take 16 columns.
pub const T13_FIRST_DAY_COL: u16 = 3;
/// Column of the half-month totals (column 5 of the form).
pub const T13_HALF_COL: u16 = 19;
/// Columns of the month totals: days (6) and hours (7).
pub const T13_MONTH_DAYS_COL: u16 = 20;
pub const T13_MONTH_HOURS_COL: u16 = 21;
/// First column of absences by reason (10–13: code, days, code, days).
pub const T13_ABSENCE_COL: u16 = 24;
/// Last column of the table (column 13 of the form: days of the second absence reason).
pub const T13_LAST_COL: u16 = T13_ABSENCE_COL + 3;

/// One employee's line of the form as it is written: each day's code and hours text.
#[derive(Debug, Clone)]
pub struct T13Line<'a> {
    pub number: usize,
    pub employee: &'a EmployeeInfo,
    /// Index 0 = day 1: (codes, hours); `None` for days the month lacks (shown as "X").
    pub cells: [Option<(&'a str, &'a str)>; 31],
    pub first_half_days: u32,
    pub first_half_minutes: i64,
    pub second_half_days: u32,
    pub second_half_minutes: i64,
    /// Absences by reason: code → days.
    pub absences: BTreeMap<T13Code, u32>,
}

/// The T-13 timesheet of one department and month as XLSX.
pub fn t13_xlsx(
    header: &T13Header,
    month: Period,
    employees: &[(EmployeeInfo, Vec<DayRecord>)],
) -> Result<Vec<u8>, ExportError> {
    let rows = t13_rows(month, employees)?;
    let texts: Vec<[Option<(String, String)>; 31]> = rows
        .iter()
        .map(|r| {
            std::array::from_fn(|i| r.days[i].as_ref().map(|d| (d.code_text(), d.hours_text())))
        })
        .collect();
    let lines: Vec<T13Line<'_>> = rows
        .iter()
        .zip(&texts)
        .map(|(r, t)| T13Line {
            number: r.number,
            employee: &r.employee,
            cells: std::array::from_fn(|i| t[i].as_ref().map(|(c, h)| (c.as_str(), h.as_str()))),
            first_half_days: r.first_half_days,
            first_half_minutes: r.first_half_minutes,
            second_half_days: r.second_half_days,
            second_half_minutes: r.second_half_minutes,
            absences: r.absences.clone(),
        })
        .collect();
    t13_xlsx_lines(header, month, &lines)
}

/// The T-13 from lines already laid out (e.g. read from the stored day cells).
pub fn t13_xlsx_lines(
    header: &T13Header,
    month: Period,
    lines: &[T13Line<'_>],
) -> Result<Vec<u8>, ExportError> {
    if !month.is_month() {
        return Err(ExportError::NotAMonth {
            from: month.from(),
            to: month.to(),
        });
    }
    check_len("T-13 employees", lines.len(), MAX_EXPORT_EMPLOYEES)?;
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("Т-13")?;
    write_t13(ws, header, month, lines)?;
    Ok(wb.save_to_buffer()?)
}

fn write_t13(
    ws: &mut Worksheet,
    h: &T13Header,
    month: Period,
    rows: &[T13Line<'_>],
) -> Result<(), ExportError> {
    let small = Format::new().set_font_size(7).set_text_wrap();
    let title = Format::new()
        .set_bold()
        .set_font_size(12)
        .set_align(FormatAlign::Center);
    let cell = Format::new()
        .set_border(FormatBorder::Thin)
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter)
        .set_font_size(8)
        .set_text_wrap();
    let left = cell.clone().set_align(FormatAlign::Left);
    let date = |d: NaiveDate| d.format("%d.%m.%Y").to_string();

    ws.set_column_width(0, 5)?;
    ws.set_column_width(1, 28)?;
    ws.set_column_width(2, 10)?;
    for c in T13_FIRST_DAY_COL..T13_FIRST_DAY_COL + 16 {
        ws.set_column_width(c, 5)?;
    }
    ws.set_column_width(T13_HALF_COL, 8)?;

    ws.merge_range(0, 20, 0, 27, "Унифицированная форма № Т-13", &small)?;
    ws.merge_range(
        1,
        20,
        1,
        27,
        "Утверждена постановлением Госкомстата России от 05.01.2004 № 1",
        &small,
    )?;
    ws.write_string_with_format(2, 25, "Код", &cell)?;
    ws.write_string(3, 23, "Форма по ОКУД")?;
    ws.write_string_with_format(3, 25, "0301008", &cell)?;
    ws.write_string(4, 23, "по ОКПО")?;
    ws.write_string_with_format(4, 25, &h.okpo, &cell)?;
    ws.merge_range(4, 0, 4, 18, &h.organisation, &left)?;
    ws.write_string_with_format(5, 0, "(наименование организации)", &small)?;
    ws.merge_range(6, 0, 6, 18, &h.department, &left)?;
    ws.write_string_with_format(7, 0, "(структурное подразделение)", &small)?;

    ws.write_string_with_format(8, 10, "Номер документа", &cell)?;
    ws.write_string_with_format(8, 12, "Дата составления", &cell)?;
    ws.merge_range(8, 14, 8, 15, "Отчетный период", &cell)?;
    ws.write_string_with_format(9, 14, "с", &cell)?;
    ws.write_string_with_format(9, 15, "по", &cell)?;
    ws.write_string_with_format(10, 10, &h.document_number, &cell)?;
    ws.write_string_with_format(10, 12, date(h.prepared_on), &cell)?;
    ws.write_string_with_format(10, 14, date(month.from()), &cell)?;
    ws.write_string_with_format(10, 15, date(month.to()), &cell)?;
    ws.merge_range(10, 0, 10, 8, "ТАБЕЛЬ УЧЕТА РАБОЧЕГО ВРЕМЕНИ", &title)?;

    // Table header (rows 11–13): titles and the column numbers of the form.
    let r = 11;
    ws.merge_range(r, 0, r + 1, 0, "Номер по порядку", &cell)?;
    ws.merge_range(
        r,
        1,
        r + 1,
        1,
        "Фамилия, инициалы, должность (специальность, профессия)",
        &cell,
    )?;
    ws.merge_range(r, 2, r + 1, 2, "Табельный номер", &cell)?;
    ws.merge_range(
        r,
        T13_FIRST_DAY_COL,
        r,
        T13_FIRST_DAY_COL + 15,
        "Отметки о явках и неявках на работу по числам месяца",
        &cell,
    )?;
    for i in 0..16u16 {
        let label = if i < 15 {
            format!("{}", i + 1)
        } else {
            "X".to_owned()
        };
        ws.write_string_with_format(r + 1, T13_FIRST_DAY_COL + i, label, &cell)?;
    }
    ws.merge_range(
        r,
        T13_HALF_COL,
        r + 1,
        T13_HALF_COL,
        "Отработано за половину месяца (I, II): дни / часы",
        &cell,
    )?;
    ws.merge_range(
        r,
        T13_MONTH_DAYS_COL,
        r,
        T13_MONTH_HOURS_COL,
        "Отработано за месяц",
        &cell,
    )?;
    ws.write_string_with_format(r + 1, T13_MONTH_DAYS_COL, "дни", &cell)?;
    ws.write_string_with_format(r + 1, T13_MONTH_HOURS_COL, "часы", &cell)?;
    ws.merge_range(
        r,
        22,
        r,
        23,
        "Данные для начисления заработной платы",
        &cell,
    )?;
    ws.write_string_with_format(r + 1, 22, "код вида оплаты", &cell)?;
    ws.write_string_with_format(r + 1, 23, "корреспондирующий счет", &cell)?;
    ws.merge_range(
        r,
        T13_ABSENCE_COL,
        r,
        T13_ABSENCE_COL + 3,
        "Неявки по причинам",
        &cell,
    )?;
    for k in 0..2u16 {
        ws.write_string_with_format(r + 1, T13_ABSENCE_COL + 2 * k, "код", &cell)?;
        ws.write_string_with_format(r + 1, T13_ABSENCE_COL + 2 * k + 1, "дни (часы)", &cell)?;
    }
    let numbers: [(u16, &str); 12] = [
        (0, "1"),
        (1, "2"),
        (2, "3"),
        (T13_FIRST_DAY_COL, "4"),
        (T13_HALF_COL, "5"),
        (T13_MONTH_DAYS_COL, "6"),
        (T13_MONTH_HOURS_COL, "7"),
        (22, "8"),
        (23, "9"),
        (T13_ABSENCE_COL, "10"),
        (T13_ABSENCE_COL + 1, "11"),
        (T13_ABSENCE_COL + 2, "12"),
    ];
    for (c, n) in numbers {
        ws.write_string_with_format(r + 2, c, n, &cell)?;
    }
    ws.write_string_with_format(r + 2, T13_ABSENCE_COL + 3, "13", &cell)?;

    // Employee lines: 4 rows each (codes and hours of days 1–15, then of days 16–31).
    // Values are written without a format and the table gets its format in two range calls
    // afterwards: rust_xlsxwriter hashes the whole `Format` on every formatted write, which
    // was a third of the time of a 1,000-employee sheet.
    for (i, row) in rows.iter().enumerate() {
        let top = T13_FIRST_ROW + 4 * i as u32;
        ws.merge_range(top, 0, top + 3, 0, &row.number.to_string(), &cell)?;
        let name = if row.employee.position.is_empty() {
            row.employee.full_name.clone()
        } else {
            format!("{}, {}", row.employee.full_name, row.employee.position)
        };
        ws.merge_range(top, 1, top + 3, 1, &name, &left)?;
        ws.merge_range(top, 2, top + 3, 2, &row.employee.personnel_number, &cell)?;
        ws.merge_range(
            top,
            T13_MONTH_DAYS_COL,
            top + 3,
            T13_MONTH_DAYS_COL,
            "",
            &cell,
        )?;
        ws.merge_range(
            top,
            T13_MONTH_HOURS_COL,
            top + 3,
            T13_MONTH_HOURS_COL,
            "",
            &cell,
        )?;
        for half in 0..2u32 {
            for i in 0..16u16 {
                let col = T13_FIRST_DAY_COL + i;
                let day_index = (half * 15) as usize + i as usize;
                let (code, hours) = if half == 0 && i == 15 {
                    ("X", "X")
                } else {
                    row.cells
                        .get(day_index)
                        .copied()
                        .flatten()
                        .unwrap_or(("X", "X"))
                };
                ws.write_string(top + 2 * half, col, code)?;
                ws.write_string(top + 2 * half + 1, col, hours)?;
            }
        }
        ws.write_number(top, T13_HALF_COL, f64::from(row.first_half_days))?;
        ws.write_number(
            top + 1,
            T13_HALF_COL,
            minutes_to_hours(row.first_half_minutes),
        )?;
        ws.write_number(top + 2, T13_HALF_COL, f64::from(row.second_half_days))?;
        ws.write_number(
            top + 3,
            T13_HALF_COL,
            minutes_to_hours(row.second_half_minutes),
        )?;
        ws.write_number(
            top,
            T13_MONTH_DAYS_COL,
            f64::from(row.first_half_days + row.second_half_days),
        )?;
        ws.write_number(
            top,
            T13_MONTH_HOURS_COL,
            minutes_to_hours(row.first_half_minutes + row.second_half_minutes),
        )?;
        // Up to 8 reasons: two per line.
        for (j, (code, days)) in row.absences.iter().enumerate().take(8) {
            let line = top + (j / 2) as u32;
            let col = T13_ABSENCE_COL + 2 * (j % 2) as u16;
            ws.write_string(line, col, code.letter())?;
            ws.write_number(line, col + 1, f64::from(*days))?;
        }
    }
    if !rows.is_empty() {
        let last = T13_FIRST_ROW + 4 * rows.len() as u32 - 1;
        ws.set_range_format(T13_FIRST_ROW, 0, last, T13_LAST_COL, &cell)?;
        ws.set_range_format(T13_FIRST_ROW, 1, last, 1, &left)?;
    }

    // Legend of the codes and the signatures.
    let mut r = T13_FIRST_ROW + 4 * rows.len() as u32 + 1;
    ws.write_string(r, 1, "Условные обозначения (буквенный / цифровой код):")?;
    for c in T13Code::ALL {
        r += 1;
        ws.write_string(
            r,
            1,
            format!("{} ({}) — {}", c.letter(), c.digital(), c.meaning()),
        )?;
    }
    r += 2;
    for who in [
        "Ответственное лицо: ________________ (должность)  ________ (личная подпись)  ________________ (расшифровка подписи)",
        "Руководитель структурного подразделения: ________________ (должность)  ________ (личная подпись)  ________________ (расшифровка подписи)",
        "Работник кадровой службы: ________________ (должность)  ________ (личная подпись)  ________________ (расшифровка подписи)",
    ] {
        ws.write_string(r, 1, who)?;
        ws.write_string(r + 1, 1, "\"____\" ____________ 20__ г.")?;
        r += 3;
    }
    ws.set_landscape();
    ws.set_paper_size(9);
    Ok(())
}
