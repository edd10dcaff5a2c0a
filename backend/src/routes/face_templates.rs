//! Face enrolment over HTTP: enrolling, listing and deleting templates, and the caller's own
//! descriptors for on-device matching (enrolment itself: [`crate::face_templates`]).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use faceid_protocol::face::{
    EMPLOYEE_FACE_TEMPLATE_PATH, EMPLOYEE_FACE_TEMPLATES_PATH, MY_FACE_DESCRIPTORS_PATH,
    MY_FACE_TEMPLATE_PATH, MY_FACE_TEMPLATES_PATH,
};
use faceid_protocol::problem::Problem;
use uuid::Uuid;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use faceid_protocol::face::TemplateDescriptor;

use crate::AppState;
use crate::auth::{AuthUser, Staff, check_employee_scope};
use crate::error::AppResult;
use crate::extract::{ApiMultipart, ApiPath};
use crate::face::{self, MAX_ENROL_PHOTOS};
use crate::face_templates::{
    FaceTemplate, PHOTO_PART, delete_one, enrol, list, require_registered_device,
};
use crate::privacy::restriction::{Processing, require_unrestricted};

/// The multipart form of an enrolment: 1–5 parts named `photo` (JPEG, PNG or WebP).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct EnrolmentForm {
    #[schema(value_type = Vec<String>, format = Binary)]
    photo: Vec<Vec<u8>>,
}

/// The enrolment photos of a multipart body: its parts named [`PHOTO_PART`] (at most one part
/// more than photos allowed is read, so a count over the limit is reported as such).
async fn read_photos(mp: &mut axum::extract::Multipart) -> AppResult<Vec<axum::body::Bytes>> {
    let parts = face::read_parts(mp, MAX_ENROL_PHOTOS + 1).await?;
    Ok(parts
        .into_iter()
        .filter(|p| p.name == PHOTO_PART)
        .map(|p| p.bytes)
        .collect())
}

/// Enrols the caller's face from 1–5 photos. Each photo must show exactly one face of good
/// quality that passes passive liveness; otherwise 422 `enrolment_refused` lists a reason per
/// photo (`not_an_image`, `image_corrupt`, `image_dimensions_too_large`, `no_face`,
/// `several_faces`, `too_blurry`, `liveness_failed`, ...). Nothing is stored unless every
/// photo is accepted.
#[utoipa::path(post, path = MY_FACE_TEMPLATES_PATH, tag = "face", security(("bearer" = [])),
    request_body(content = inline(EnrolmentForm), content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "enrolled", body = Vec<FaceTemplate>),
        (status = 400, description = "`photo_count`, `invalid_multipart`, `too_many_parts`", body = Problem),
        (status = 403, description = "`biometric_consent_required`, `processing_restricted`", body = Problem),
        (status = 409, description = "`possible_duplicate`: the face matches another employee", body = Problem),
        (status = 413, description = "`payload_too_large`", body = Problem),
        (status = 415, description = "not multipart", body = Problem),
        (status = 422, description = "`enrolment_refused`, with a reason per photo", body = Problem),
        (status = 503, description = "`face_engine_unavailable`", body = Problem)))]
pub async fn enrol_me(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    ApiMultipart(mut mp): ApiMultipart,
) -> AppResult<(StatusCode, Json<Vec<FaceTemplate>>)> {
    let photos = read_photos(&mut mp).await?;
    let out = enrol(&state, &caller, caller.id, photos).await?;
    Ok((StatusCode::CREATED, Json(out)))
}

/// Enrols an employee's face on their behalf (administrators; operators within their scope).
#[utoipa::path(post, path = EMPLOYEE_FACE_TEMPLATES_PATH, tag = "face", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "employee id")),
    request_body(content = inline(EnrolmentForm), content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "enrolled", body = Vec<FaceTemplate>),
        (status = 403, description = "`out_of_scope`, `role_not_allowed`, `biometric_consent_required`", body = Problem),
        (status = 404, description = "no such employee", body = Problem),
        (status = 409, description = "`possible_duplicate`", body = Problem),
        (status = 422, description = "`enrolment_refused`", body = Problem),
        (status = 503, description = "`face_engine_unavailable`", body = Problem)))]
pub async fn enrol_employee(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<Uuid>,
    ApiMultipart(mut mp): ApiMultipart,
) -> AppResult<(StatusCode, Json<Vec<FaceTemplate>>)> {
    let mut conn = state.db.acquire().await?;
    check_employee_scope(&mut conn, &caller, id).await?;
    drop(conn);
    let photos = read_photos(&mut mp).await?;
    let out = enrol(&state, &caller, id, photos).await?;
    Ok((StatusCode::CREATED, Json(out)))
}

/// The caller's enrolled templates (metadata only).
#[utoipa::path(get, path = MY_FACE_TEMPLATES_PATH, tag = "face", security(("bearer" = [])),
    responses((status = 200, description = "templates", body = Vec<FaceTemplate>)))]
pub async fn list_me(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
) -> AppResult<Json<Vec<FaceTemplate>>> {
    Ok(Json(list(&state, caller.id).await?))
}

/// An employee's enrolled templates (metadata only).
#[utoipa::path(get, path = EMPLOYEE_FACE_TEMPLATES_PATH, tag = "face", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "employee id")),
    responses(
        (status = 200, description = "templates", body = Vec<FaceTemplate>),
        (status = 403, description = "`out_of_scope`, `role_not_allowed`", body = Problem),
        (status = 404, description = "no such employee", body = Problem)))]
pub async fn list_employee(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<Vec<FaceTemplate>>> {
    let mut conn = state.db.acquire().await?;
    check_employee_scope(&mut conn, &caller, id).await?;
    Ok(Json(list(&state, id).await?))
}

/// Deletes one of the caller's templates and its photo.
#[utoipa::path(delete, path = MY_FACE_TEMPLATE_PATH, tag = "face", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "template id")),
    responses(
        (status = 204, description = "deleted"),
        (status = 404, description = "no such template of the caller", body = Problem)))]
pub async fn delete_me(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<StatusCode> {
    delete_one(&state, &caller, caller.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes one of an employee's templates and its photo (administrators; operators within
/// their scope).
#[utoipa::path(delete, path = EMPLOYEE_FACE_TEMPLATE_PATH, tag = "face", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "employee id"),
           ("template_id" = Uuid, Path, description = "template id")),
    responses(
        (status = 204, description = "deleted"),
        (status = 403, description = "`out_of_scope`, `role_not_allowed`", body = Problem),
        (status = 404, description = "no such employee, or no such template of theirs", body = Problem)))]
pub async fn delete_employee(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath((id, template_id)): ApiPath<(Uuid, Uuid)>,
) -> AppResult<StatusCode> {
    let mut conn = state.db.acquire().await?;
    check_employee_scope(&mut conn, &caller, id).await?;
    drop(conn);
    delete_one(&state, &caller, id, template_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's own descriptors, for 1:1 matching on the device. Only to a personal device
/// the employee may use (a kiosk, a blocked device or one outside the employee's allowed
/// devices is refused).
#[utoipa::path(get, path = MY_FACE_DESCRIPTORS_PATH, tag = "face", security(("bearer" = [])),
    responses(
        (status = 200, description = "descriptors", body = Vec<TemplateDescriptor>),
        (status = 403, description = "`device_not_allowed`, `processing_restricted`", body = Problem)))]
pub async fn my_descriptors(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
) -> AppResult<Json<Vec<TemplateDescriptor>>> {
    require_registered_device(&state, &caller).await?;
    require_unrestricted(&state.db, caller.id, Processing::Biometrics).await?;
    // Templates exist only with biometric consent (a withdrawal deletes them).
    let rows: Vec<(Uuid, String, Vec<u8>, Vec<u8>)> = sqlx::query_as(
        "SELECT id, model_id, descriptor, nonce FROM face_templates WHERE employee_id = $1 ORDER BY created_at, id",
    )
    .bind(caller.id)
    .fetch_all(&state.db)
    .await?;
    let out = rows
        .into_iter()
        .map(|(id, model, ct, nonce)| {
            let d = state.cipher.open(id, caller.id, &model, &ct, &nonce)?;
            Ok(TemplateDescriptor {
                id,
                model,
                values: d.values,
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    Ok(Json(out))
}

/// The enrolment routes (uploads with the photo body limit).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(
            OpenApiRouter::new()
                .routes(routes!(enrol_me, list_me))
                .routes(routes!(enrol_employee, list_employee))
                .layer(axum::extract::DefaultBodyLimit::max(
                    face::MAX_PHOTO_BODY_BYTES,
                )),
        )
        .routes(routes!(delete_me))
        .routes(routes!(delete_employee))
        .routes(routes!(my_descriptors))
}
