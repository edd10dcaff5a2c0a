//! Profile photos: one picture per employee for people to recognise them by (the panel's
//! lists, the apps). It is not biometric processing: no face is searched or measured, so no
//! biometric consent is asked; an erasure of photos or of everything removes it.
//!
//! The upload is decoded under the same limits as every other photo, re-encoded as a JPEG of
//! at most [`MAX_SIDE`] pixels, turned upright (which drops EXIF and any other metadata, a phone's GPS
//! position included) and stored in the photo store; the employee row keeps its key and
//! `photo_updated_at`, which clients use to know there is one and to refetch it.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use faceid_face::MeasureRules;
use faceid_protocol::error_code::ErrorCode;
use faceid_protocol::problem::{FieldError, Problem};
use faceid_protocol::profile::EMPLOYEE_PHOTO_PATH;
use serde::Serialize;
use uuid::Uuid;

use crate::AppState;
use crate::audit;
use crate::auth::{AuthUser, Caller, Staff, check_employee_scope};
use crate::error::{AppError, AppResult};
use crate::extract::{ApiMultipart, ApiPath};
use crate::face;

/// Longest side of a stored profile photo, in pixels.
pub const MAX_SIDE: u32 = 512;
const JPEG_QUALITY: u8 = 85;
/// Name of the one part of an upload.
const PART: &str = "photo";

/// The multipart form of an upload: one part named `photo` (JPEG, PNG or WebP).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ProfilePhotoForm {
    #[schema(value_type = String, format = Binary)]
    photo: Vec<u8>,
}

pub use faceid_protocol::profile::{MY_PHOTO_PATH, ProfilePhotoSet};

#[derive(Serialize)]
struct Audited<'a> {
    photo_key: &'a str,
}

/// The caller's profile photo.
#[utoipa::path(get, path = MY_PHOTO_PATH, tag = "employees", security(("bearer" = [])),
    responses(
        (status = 200, description = "the photo (JPEG, longest side 512 px)", content_type = "image/jpeg"),
        (status = 304, description = "unchanged since the `If-None-Match` tag"),
        (status = 404, description = "`no_photo`", body = Problem)))]
pub async fn get_me(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    headers: HeaderMap,
) -> AppResult<Response> {
    answer_photo(&state, caller.id, &headers).await
}

/// Sets the caller's profile photo, replacing the previous one.
#[utoipa::path(put, path = MY_PHOTO_PATH, tag = "employees", security(("bearer" = [])),
    request_body(content = inline(ProfilePhotoForm), content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "stored", body = ProfilePhotoSet),
        (status = 400, description = "`photo_count`, `invalid_multipart`, `too_many_parts`", body = Problem),
        (status = 422, description = "`photo_refused`: not an image, truncated, or too large in pixels", body = Problem)))]
pub async fn put_me(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    ApiMultipart(mp): ApiMultipart,
) -> AppResult<axum::Json<ProfilePhotoSet>> {
    set_photo(&state, &caller, caller.id, mp)
        .await
        .map(axum::Json)
}

/// Removes the caller's profile photo (nothing happens when there is none).
#[utoipa::path(delete, path = MY_PHOTO_PATH, tag = "employees", security(("bearer" = [])),
    responses((status = 204, description = "removed")))]
pub async fn delete_me(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
) -> AppResult<StatusCode> {
    remove_photo(&state, &caller, caller.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An employee's profile photo (administrators; operators within their scope).
#[utoipa::path(get, path = EMPLOYEE_PHOTO_PATH, tag = "employees", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "employee id")),
    responses(
        (status = 200, description = "the photo (JPEG, longest side 512 px)", content_type = "image/jpeg"),
        (status = 304, description = "unchanged since the `If-None-Match` tag"),
        (status = 403, description = "`out_of_scope`, `role_not_allowed`", body = Problem),
        (status = 404, description = "no such employee, or `no_photo`", body = Problem)))]
pub async fn get_employee(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let mut conn = state.db.acquire().await?;
    check_employee_scope(&mut conn, &caller, id).await?;
    drop(conn);
    answer_photo(&state, id, &headers).await
}

/// Sets an employee's profile photo (administrators; operators within their scope).
#[utoipa::path(put, path = EMPLOYEE_PHOTO_PATH, tag = "employees", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "employee id")),
    request_body(content = inline(ProfilePhotoForm), content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "stored", body = ProfilePhotoSet),
        (status = 400, description = "`photo_count`, `invalid_multipart`, `too_many_parts`", body = Problem),
        (status = 403, description = "`out_of_scope`, `role_not_allowed`", body = Problem),
        (status = 404, description = "no such employee", body = Problem),
        (status = 422, description = "`photo_refused`", body = Problem)))]
pub async fn put_employee(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<Uuid>,
    ApiMultipart(mp): ApiMultipart,
) -> AppResult<axum::Json<ProfilePhotoSet>> {
    let mut conn = state.db.acquire().await?;
    check_employee_scope(&mut conn, &caller, id).await?;
    drop(conn);
    set_photo(&state, &caller, id, mp).await.map(axum::Json)
}

/// Removes an employee's profile photo (administrators; operators within their scope).
#[utoipa::path(delete, path = EMPLOYEE_PHOTO_PATH, tag = "employees", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "employee id")),
    responses(
        (status = 204, description = "removed"),
        (status = 403, description = "`out_of_scope`, `role_not_allowed`", body = Problem),
        (status = 404, description = "no such employee", body = Problem)))]
pub async fn delete_employee(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<StatusCode> {
    let mut conn = state.db.acquire().await?;
    check_employee_scope(&mut conn, &caller, id).await?;
    drop(conn);
    remove_photo(&state, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The stored JPEG, with its key as the entity tag: a list of employees revalidates
/// its pictures without downloading them again.
async fn answer_photo(
    state: &AppState,
    employee: Uuid,
    headers: &HeaderMap,
) -> AppResult<Response> {
    let key: Option<String> = sqlx::query_scalar("SELECT photo_key FROM employees WHERE id = $1")
        .bind(employee)
        .fetch_optional(&state.db)
        .await?
        .ok_or(AppError::not_found("employee"))?;
    let key = key.ok_or_else(|| AppError::Unconfigured {
        code: ErrorCode::NoPhoto,
        detail: "this employee has no profile photo".to_owned(),
    })?;
    let etag = format!("\"{}\"", key.rsplit('/').next().unwrap_or(&key));
    let cache = [(header::CACHE_CONTROL, "private, no-cache")];
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let etag = HeaderValue::from_str(&etag).map_err(AppError::internal)?;
    if unchanged {
        return Ok((StatusCode::NOT_MODIFIED, cache, [(header::ETAG, etag)]).into_response());
    }
    let bytes = state.photos.get(&key).await?;
    Ok((
        cache,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg")),
            (header::ETAG, etag),
        ],
        Body::from(bytes),
    )
        .into_response())
}

/// Decodes, re-encodes and stores the upload, then points the employee at it; the previous
/// photo leaves the store once the row no longer names it.
async fn set_photo(
    state: &AppState,
    caller: &Caller,
    employee: Uuid,
    mut mp: axum::extract::Multipart,
) -> AppResult<ProfilePhotoSet> {
    let parts = face::read_parts(&mut mp, 1).await?;
    let upload = match parts.as_slice() {
        [p] if p.name == PART => p.bytes.clone(),
        _ => {
            return Err(AppError::bad_request(
                ErrorCode::PhotoCount,
                "send exactly one part named `photo`",
            ));
        }
    };
    let jpeg = reencode(state, upload).await?;
    let key = state.photos.put("profile", jpeg).await?;
    let stored = async {
        let mut tx = state.db.begin().await?;
        let old: Option<Option<String>> =
            sqlx::query_scalar("SELECT photo_key FROM employees WHERE id = $1 FOR UPDATE")
                .bind(employee)
                .fetch_optional(&mut *tx)
                .await?;
        let old = old.ok_or(AppError::not_found("employee"))?;
        let at: DateTime<Utc> = sqlx::query_scalar(
            "UPDATE employees SET photo_key = $2, photo_updated_at = now(), updated_at = now()
              WHERE id = $1 RETURNING photo_updated_at",
        )
        .bind(employee)
        .bind(&key)
        .fetch_one(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            caller,
            "employee.photo_set",
            "employee",
            Some(employee),
            old.as_deref().map(|k| Audited { photo_key: k }).as_ref(),
            Some(&Audited { photo_key: &key }),
        )
        .await?;
        tx.commit().await?;
        Ok::<_, AppError>((old, at))
    }
    .await;
    match stored {
        Ok((old, at)) => {
            state
                .photos
                .delete_all(&old.into_iter().collect::<Vec<_>>())
                .await;
            Ok(ProfilePhotoSet {
                photo_updated_at: at,
            })
        }
        Err(e) => {
            state.photos.delete_all(&[key]).await;
            Err(e)
        }
    }
}

/// The upload as a JPEG of at most [`MAX_SIDE`] pixels, or a 422 naming why it is unusable.
async fn reencode(state: &AppState, upload: axum::body::Bytes) -> AppResult<Vec<u8>> {
    let _slot = face::large_decode_slot(state, &[&upload]).await?;
    face::blocking(move || {
        let refused = |code: ErrorCode, message: String| AppError::Refused {
            code: ErrorCode::PhotoRefused,
            detail: "the profile photo cannot be used".to_owned(),
            errors: vec![FieldError::new(PART, face::frame_field_code(code), message)],
        };
        let img = faceid_face::decode::decode_with_limits(&upload, &MeasureRules::enrol().decode)
            .map_err(|e| refused(face::decode_code(&e), e.to_string()))?;
        faceid_face::decode::encode_jpeg(&img.rgb, MAX_SIDE, JPEG_QUALITY)
            .map_err(|e| refused(ErrorCode::ImageCorrupt, e.to_string()))
    })
    .await
}

/// Clears the employee's profile photo and removes its bytes after the commit.
async fn remove_photo(state: &AppState, caller: &Caller, employee: Uuid) -> AppResult<()> {
    let mut tx = state.db.begin().await?;
    let old: Option<String> = sqlx::query_scalar(
        "UPDATE employees e SET photo_key = NULL, photo_updated_at = NULL, updated_at = now()
           FROM (SELECT photo_key FROM employees WHERE id = $1 FOR UPDATE) o
          WHERE e.id = $1 AND o.photo_key IS NOT NULL RETURNING o.photo_key",
    )
    .bind(employee)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(old) = old else {
        return Ok(());
    };
    audit::record(
        &mut tx,
        caller,
        "employee.photo_removed",
        "employee",
        Some(employee),
        Some(&Audited { photo_key: &old }),
        audit::NONE,
    )
    .await?;
    tx.commit().await?;
    state.photos.delete_all(&[old]).await;
    Ok(())
}
