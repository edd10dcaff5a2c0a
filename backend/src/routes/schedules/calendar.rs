//! The holiday calendar: a year's holidays and shortened days.

use faceid_protocol::error_code::ErrorCode;
use faceid_protocol::field_code::FieldCode;
use faceid_protocol::schedules::{HOLIDAYS_PATH, HolidayEntry, HolidayYear, YearQuery};
use std::collections::BTreeSet;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{Datelike, Duration, NaiveDate, Utc};
use faceid_protocol::problem::Problem;
use sqlx::PgConnection;

use crate::AppState;
use crate::audit;
use crate::auth::{Admin, AuthUser};
use crate::error::{AppError, AppResult, AsDbError};
use crate::extract::Check;
use crate::extract::{ApiJson, ApiQuery};
use crate::timesheet::store::{self, weekday_from_iso};
use crate::timesheet::{MAX_YEAR, MIN_YEAR};

fn check_year(year: i32) -> AppResult<()> {
    if (MIN_YEAR..=MAX_YEAR).contains(&year) {
        Ok(())
    } else {
        Err(AppError::field(
            "year",
            FieldCode::OutOfRange,
            format!("year must be within {MIN_YEAR}..={MAX_YEAR}"),
        ))
    }
}

fn check_entry(check: &mut Check, i: usize, e: &HolidayEntry) {
    let f = |s: &str| format!("entries[{i}].{s}");
    match e.kind.as_str() {
        "holiday" | "non_working" => {
            if e.working_as.is_some() {
                check.add(
                    &f("working_as"),
                    FieldCode::NotAllowed,
                    "only for kind `working`",
                );
            }
        }
        "working" => {
            if e.working_as.and_then(weekday_from_iso).is_none() {
                check.add(
                    &f("working_as"),
                    FieldCode::Required,
                    "an ISO weekday 1..=7",
                );
            }
        }
        _ => check.add(
            &f("kind"),
            FieldCode::InvalidKind,
            "one of holiday, non_working, working",
        ),
    }
    if let Some(n) = &e.name
        && n.chars().count() > 200
    {
        check.add(&f("name"), FieldCode::TooLong, "at most 200 characters");
    }
}

async fn year_entries(conn: &mut PgConnection, year: i32) -> AppResult<Vec<HolidayEntry>> {
    Ok(sqlx::query_as(
        "SELECT day, kind, name, working_as FROM holiday_calendar
          WHERE day >= make_date($1, 1, 1) AND day <= make_date($1, 12, 31) ORDER BY day",
    )
    .bind(year)
    .fetch_all(conn)
    .await?)
}

/// The holiday calendar of a year.
#[utoipa::path(get, path = HOLIDAYS_PATH, tag = "schedules", security(("bearer" = [])),
    params(YearQuery),
    responses(
        (status = 200, description = "the year's entries", body = HolidayYear),
        (status = 422, description = "`out_of_range`", body = Problem)))]
pub async fn get_holidays(
    State(state): State<AppState>,
    AuthUser(_): AuthUser,
    ApiQuery(q): ApiQuery<YearQuery>,
) -> AppResult<Json<HolidayYear>> {
    let year = q.year.unwrap_or_else(|| Utc::now().year());
    check_year(year)?;
    let mut conn = state.db.acquire().await?;
    Ok(Json(HolidayYear {
        year,
        entries: year_entries(&mut conn, year).await?,
    }))
}

/// Replaces the holiday calendar of a year. A date listed twice is refused.
#[utoipa::path(put, path = HOLIDAYS_PATH, tag = "schedules", security(("bearer" = [])),
    request_body = HolidayYear,
    responses(
        (status = 200, description = "the year's entries", body = HolidayYear),
        (status = 422, description = "`duplicate_entry`, `wrong_year`, `invalid_kind`", body = Problem)))]
pub async fn put_holidays(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiJson(req): ApiJson<HolidayYear>,
) -> AppResult<Json<HolidayYear>> {
    check_year(req.year)?;
    let mut check = Check::default();
    let mut seen = BTreeSet::new();
    if req.entries.len() > 366 {
        check.add("entries", FieldCode::TooMany, "at most 366 entries");
    }
    for (i, e) in req.entries.iter().enumerate() {
        check_entry(&mut check, i, e);
        if e.date.year() != req.year {
            check.add(
                &format!("entries[{i}].date"),
                FieldCode::WrongYear,
                format!("{} is not in {}", e.date, req.year),
            );
        }
        if !seen.insert(e.date) {
            check.add(
                &format!("entries[{i}].date"),
                FieldCode::DuplicateEntry,
                format!("{} is listed twice", e.date),
            );
        }
    }
    check.finish()?;
    let mut tx = state.db.begin().await?;
    let before = year_entries(&mut tx, req.year).await?;
    sqlx::query(
        "DELETE FROM holiday_calendar WHERE day >= make_date($1, 1, 1) AND day <= make_date($1, 12, 31)",
    )
    .bind(req.year)
    .execute(&mut *tx)
    .await?;
    for e in &req.entries {
        insert_entry(&mut tx, e).await?;
    }
    let after = year_entries(&mut tx, req.year).await?;
    let jan1 = NaiveDate::from_ymd_opt(req.year, 1, 1).unwrap_or_default();
    let dec31 = NaiveDate::from_ymd_opt(req.year, 12, 31).unwrap_or_default();
    store::invalidate(
        &mut tx,
        None,
        None,
        jan1 - Duration::days(1),
        Some(dec31 + Duration::days(1)),
    )
    .await?;
    audit::record(
        &mut tx,
        &caller,
        "holidays.replace",
        "holiday_calendar",
        None,
        Some(&before),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(HolidayYear {
        year: req.year,
        entries: after,
    }))
}

async fn insert_entry(conn: &mut PgConnection, e: &HolidayEntry) -> AppResult<()> {
    sqlx::query(
        "INSERT INTO holiday_calendar (day, kind, name, working_as) VALUES ($1, $2, $3, $4)",
    )
    .bind(e.date)
    .bind(&e.kind)
    .bind(e.name.as_deref().map(str::trim))
    .bind(e.working_as)
    .execute(conn)
    .await
    .map_err(|err| match err.constraint() {
        Some("holiday_calendar_pkey") => AppError::conflict(
            ErrorCode::HolidayExists,
            format!("the calendar already has an entry for {}", e.date),
        ),
        _ => err.into(),
    })?;
    Ok(())
}

/// Adds one entry to the holiday calendar; a date that already has one is refused (409).
#[utoipa::path(post, path = HOLIDAYS_PATH, tag = "schedules", security(("bearer" = [])),
    request_body = HolidayEntry,
    responses(
        (status = 201, description = "added", body = HolidayEntry),
        (status = 409, description = "`holiday_exists`", body = Problem),
        (status = 422, description = "`invalid_kind`, `out_of_range`", body = Problem)))]
pub async fn add_holiday(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiJson(req): ApiJson<HolidayEntry>,
) -> AppResult<(StatusCode, Json<HolidayEntry>)> {
    check_year(req.date.year())?;
    let mut check = Check::default();
    check_entry(&mut check, 0, &req);
    check.finish()?;
    let mut tx = state.db.begin().await?;
    insert_entry(&mut tx, &req).await?;
    store::invalidate(
        &mut tx,
        None,
        None,
        req.date - Duration::days(1),
        Some(req.date + Duration::days(1)),
    )
    .await?;
    audit::record(
        &mut tx,
        &caller,
        "holidays.add",
        "holiday_calendar",
        None,
        audit::NONE,
        Some(&req),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(req)))
}
