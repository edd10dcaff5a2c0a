//! Re-enrolment after a model change (issue 24). A face template is tied to the model id that
//! computed it, so when the default embedder changes, templates of the other model no longer
//! match anything. An administrator starts a run (`POST /api/v1/face/reenrolments`); the job
//! `face.reenrol` then takes every employee who has templates of another model and, when the
//! employee's biometric consent stands and biometrics are not restricted, re-computes each such
//! template from its stored enrolment photo with the current model: the same row and photo, a
//! new descriptor (sealed to the new model id), audited as `face_template.reenrol`.
//!
//! Nobody is skipped silently: employees without consent, with biometrics restricted, without
//! a stored photo, or whose photo the current engine refuses (quality, liveness) are listed in
//! the run's `skipped` with the reason; their old templates stay untouched (they match nothing
//! until the employee enrols again or consents). The job is resumable: each employee is one
//! transaction, and a retried attempt only sees the templates still of another model. The
//! handlers are in `routes::face_reenrol`.

use faceid_protocol::consent::ConsentKind;
use serde::Serialize;
use uuid::Uuid;

use crate::AppState;
use crate::audit;
use crate::consent::has_consent;
use crate::error::{AppError, AppResult};
use crate::jobs::{Job, Outcome, Registry, worker::KindConfig};
use crate::privacy::restriction::{Processing, is_restricted};

pub use faceid_protocol::face::{Reenrolment, SkipReason, Skipped};

/// The job kind of a run.
pub const REENROL_JOB: &str = "face.reenrol";
const MAX_ATTEMPTS: i32 = 5;

pub const COLUMNS: &str = "id, model_id, state, requested_by, employees_total, employees_done,
    templates_reenrolled, skipped, error, created_at, finished_at";

/// A run, by id.
pub async fn load(db: &sqlx::PgPool, id: Uuid) -> Result<Option<Reenrolment>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM face_reenrolments WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(db)
    .await
}

pub fn register_jobs(registry: &mut Registry, state: AppState) {
    registry.handle(
        REENROL_JOB,
        KindConfig {
            max_attempts: MAX_ATTEMPTS,
            lease: std::time::Duration::from_secs(10 * 60),
            backoff_base: std::time::Duration::from_secs(30),
            backoff_max: std::time::Duration::from_secs(30 * 60),
        },
        move |job| {
            let state = state.clone();
            async move { run_job(&state, &job).await }
        },
    );
}

async fn run_job(state: &AppState, job: &Job) -> Outcome {
    let table = ("face_reenrolments", "'queued', 'running'");
    crate::job_files::run_row_job(
        &state.db,
        job,
        "reenrolment_id",
        MAX_ATTEMPTS,
        table,
        |id| run(state, id),
    )
    .await
}

/// One attempt of run `id` (nothing when the run is finished).
async fn run(state: &AppState, id: Uuid) -> AppResult<()> {
    let Some(run) = load(&state.db, id).await? else {
        return Ok(());
    };
    if run.state == "done" || run.state == "failed" {
        return Ok(());
    }
    let engine = state.face.get()?;
    let model = engine
        .embedder(None)
        .map_err(AppError::internal)?
        .model_id()
        .0
        .clone();
    let employees: Vec<Uuid> = sqlx::query_scalar(
        "SELECT DISTINCT employee_id FROM face_templates WHERE model_id <> $1 ORDER BY employee_id",
    )
    .bind(&model)
    .fetch_all(&state.db)
    .await?;
    // This attempt lists its own skips (a retried attempt sees the same employees again).
    sqlx::query(
        "UPDATE face_reenrolments SET state = 'running', model_id = $2, employees_total = $3,
             employees_done = 0, skipped = '[]' WHERE id = $1",
    )
    .bind(id)
    .bind(&model)
    .bind(employees.len() as i32)
    .execute(&state.db)
    .await?;
    for employee in employees {
        let (done, skipped) = reenrol_employee(state, &engine, &model, employee).await?;
        sqlx::query(
            "UPDATE face_reenrolments SET employees_done = employees_done + 1,
                 templates_reenrolled = templates_reenrolled + $2,
                 skipped = skipped || $3 WHERE id = $1",
        )
        .bind(id)
        .bind(done)
        .bind(sqlx::types::Json(skipped))
        .execute(&state.db)
        .await?;
    }
    sqlx::query("UPDATE face_reenrolments SET state = 'done', finished_at = now() WHERE id = $1")
        .bind(id)
        .execute(&state.db)
        .await?;
    tracing::info!(reenrolment = %id, model, "re-enrolment done");
    Ok(())
}

/// Re-enrols one employee's templates of other models: (templates re-enrolled, skip entries).
async fn reenrol_employee(
    state: &AppState,
    engine: &std::sync::Arc<faceid_face::Engine>,
    model: &str,
    employee: Uuid,
) -> AppResult<(i32, Vec<Skipped>)> {
    let rows: Vec<(Uuid, String, Option<String>)> = sqlx::query_as(
        "SELECT id, model_id, photo_key FROM face_templates
          WHERE employee_id = $1 AND model_id <> $2 ORDER BY id",
    )
    .bind(employee)
    .bind(model)
    .fetch_all(&state.db)
    .await?;
    let skip = |reason, templates: usize, detail: Option<String>| Skipped {
        employee_id: employee,
        reason,
        templates: templates as i32,
        detail,
    };
    if !has_consent(&state.db, employee, ConsentKind::Biometric).await? {
        return Ok((0, vec![skip(SkipReason::NoConsent, rows.len(), None)]));
    }
    if is_restricted(&state.db, employee, Processing::Biometrics).await? {
        return Ok((0, vec![skip(SkipReason::Restricted, rows.len(), None)]));
    }
    let mut done = 0;
    let mut no_photo = 0;
    let mut refused: Vec<&'static str> = Vec::new();
    for (template, old_model, key) in rows {
        let bytes = match key {
            None => None,
            Some(k) => match state.photos.get(&k).await {
                Ok(b) => Some(b),
                Err(AppError::NotFound { .. }) => None,
                Err(e) => return Err(e),
            },
        };
        let Some(bytes) = bytes else {
            no_photo += 1;
            continue;
        };
        let eng = engine.clone();
        // In turn with check-ins at the engine (and its large-decode slots): a re-enrolment
        // run during a morning rush waits, or is refused `server_busy` and retried as a job.
        let probe = bytes.clone();
        let analysed = crate::face::measure_blocking(state, &[&probe], move || {
            Ok(crate::face_templates::analyse_enrolment(&eng, &bytes))
        })
        .await?;
        let (descriptor, quality) = match analysed {
            Ok(x) => x,
            Err(r) => {
                refused.push(r.code.as_str());
                continue;
            }
        };
        if store(state, employee, template, &old_model, &descriptor, quality).await? {
            done += 1;
        }
    }
    let mut skipped = Vec::new();
    if no_photo > 0 {
        skipped.push(skip(SkipReason::NoStoredPhoto, no_photo, None));
    }
    if !refused.is_empty() {
        refused.dedup();
        skipped.push(skip(
            SkipReason::PhotoRefused,
            refused.len(),
            Some(refused.join(",")),
        ));
    }
    Ok((done, skipped))
}

/// Replaces one template's descriptor in place, in one transaction with its audit row, if
/// consent still stands and the row is still of `old_model`. Answers whether it was replaced.
async fn store(
    state: &AppState,
    employee: Uuid,
    template: Uuid,
    old_model: &str,
    d: &faceid_face::Descriptor,
    quality: f32,
) -> AppResult<bool> {
    let mut tx = state.db.begin().await?;
    if !crate::face_templates::consent_stands_locked(&mut tx, employee).await? {
        return Ok(false);
    }
    let (ct, nonce) = state.cipher.seal(template, employee, d)?;
    let updated = sqlx::query(
        "UPDATE face_templates SET model_id = $3, descriptor = $4, nonce = $5, quality = $6
          WHERE id = $1 AND employee_id = $2 AND model_id = $7",
    )
    .bind(template)
    .bind(employee)
    .bind(&d.model.0)
    .bind(ct)
    .bind(nonce)
    .bind(quality)
    .bind(old_model)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Ok(false);
    }
    #[derive(Serialize)]
    struct Change<'a> {
        template: Uuid,
        from_model: &'a str,
        to_model: &'a str,
    }
    audit::record_system(
        &mut tx,
        "face_template.reenrol",
        "employee",
        Some(employee),
        &Change {
            template,
            from_model: old_model,
            to_model: &d.model.0,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}
