//! What a phone punch reads before its frames are measured, in one statement (one round trip,
//! where it used to take nine): an earlier request with the idempotency key, whether the
//! device is the employee's and allowed, the biometric consent, a restriction of biometric
//! processing, the employee's active sites, the policies that may apply (the global one and
//! the overrides of those sites) and the employee's face templates for the engine's model.
//! The handler decides in the same order as before (replay, device, consent, restriction).

use std::collections::HashMap;

use faceid_face::Descriptor;
use faceid_protocol::attendance::AttendancePolicy;
use faceid_protocol::consent::ConsentKind;
use faceid_protocol::privacy::Processing;
use faceid_protocol::sites::Geofence;
use sqlx::PgPool;
use sqlx::types::Json;
use uuid::Uuid;

use crate::AppState;
use crate::error::{AppError, AppResult};
use crate::idempotency::Prior;

/// The database's view of a phone punch before measurement.
pub struct PunchContext {
    /// What an earlier request of the employee with this key left.
    pub prior: Option<Prior>,
    /// The caller's device is a personal, unblocked device the employee may use.
    pub device_allowed: bool,
    /// The employee's latest biometric consent record is a grant.
    pub consent: bool,
    /// Biometric processing of the employee is restricted.
    pub restricted: bool,
    /// The employee's active sites with their geofences, by name.
    pub sites: Vec<(Uuid, String, Geofence)>,
    /// Stored policies by scope (`global`, or a site id of `sites`).
    policies: HashMap<String, serde_json::Value>,
    /// The employee's templates of the model, still encrypted: (template id, ciphertext,
    /// nonce).
    templates: Vec<(Uuid, Vec<u8>, Vec<u8>)>,
}

#[derive(sqlx::FromRow)]
struct Row {
    prior_found: bool,
    request_hash: Option<Vec<u8>>,
    response: Option<serde_json::Value>,
    device_allowed: bool,
    consent: bool,
    restricted: bool,
    sites: Json<Vec<(Uuid, String, Geofence)>>,
    policies: Json<HashMap<String, serde_json::Value>>,
    template_ids: Vec<Uuid>,
    descriptors: Vec<Vec<u8>>,
    nonces: Vec<Vec<u8>>,
}

/// The statement: every part is what the separate lookups asked (`replay::prior`,
/// `face_templates::require_registered_device`, `consent::has_consent`,
/// `restriction::is_restricted`, `place::employee_sites`, `policy::effective_policy`,
/// `face_templates::load_templates`).
const CONTEXT: &str = "
SELECT p.found IS NOT NULL AS prior_found, p.request_hash, p.response,
       EXISTS (SELECT 1 FROM devices d WHERE d.id = $2 AND d.kind = 'personal' AND NOT d.blocked)
         AND (NOT EXISTS (SELECT 1 FROM employee_allowed_devices WHERE employee_id = $1)
              OR EXISTS (SELECT 1 FROM employee_allowed_devices
                          WHERE employee_id = $1 AND device_id = $2)) AS device_allowed,
       COALESCE((SELECT action FROM consent_records WHERE employee_id = $1 AND kind = $4
                  ORDER BY id DESC LIMIT 1) = 'grant', false) AS consent,
       EXISTS (SELECT 1 FROM processing_restrictions WHERE employee_id = $1 AND kind = $5)
         AS restricted,
       s.sites, pol.policies, t.template_ids, t.descriptors, t.nonces
  FROM (SELECT 1) one
  LEFT JOIN (SELECT true AS found, request_hash, response FROM attendance_events
              WHERE employee_id = $1 AND idempotency_key = $3 LIMIT 1) p ON true
 CROSS JOIN LATERAL (
       SELECT COALESCE(jsonb_agg(jsonb_build_array(s.id, s.name, s.geofence) ORDER BY s.name, s.id),
                       '[]'::jsonb) AS sites
         FROM sites s JOIN employee_sites es ON es.site_id = s.id
        WHERE es.employee_id = $1 AND s.active) s
 CROSS JOIN LATERAL (
       SELECT COALESCE(jsonb_object_agg(ap.scope, ap.policy), '{}'::jsonb) AS policies
         FROM attendance_policies ap
        WHERE ap.scope = 'global'
           OR ap.scope IN (SELECT es.site_id::text FROM employee_sites es
                             JOIN sites s ON s.id = es.site_id
                            WHERE es.employee_id = $1 AND s.active)) pol
 CROSS JOIN LATERAL (
       SELECT COALESCE(array_agg(ft.id ORDER BY ft.id), '{}') AS template_ids,
              COALESCE(array_agg(ft.descriptor ORDER BY ft.id), '{}') AS descriptors,
              COALESCE(array_agg(ft.nonce ORDER BY ft.id), '{}') AS nonces
         FROM face_templates ft WHERE ft.model_id = $6 AND ft.employee_id = $1) t";

/// Reads the context of a punch by `employee` from `device` with idempotency key `key`;
/// templates of `model` (none without a model: the engine is not loaded).
pub async fn punch_context(
    pool: &PgPool,
    employee: Uuid,
    device: Uuid,
    key: Uuid,
    model: Option<&str>,
) -> AppResult<PunchContext> {
    let r: Row = sqlx::query_as(CONTEXT)
        .bind(employee)
        .bind(device)
        .bind(key)
        .bind(ConsentKind::Biometric)
        .bind(Processing::Biometrics)
        .bind(model)
        .fetch_one(pool)
        .await?;
    if r.descriptors.len() != r.template_ids.len() || r.nonces.len() != r.template_ids.len() {
        return Err(AppError::internal("face templates read incompletely"));
    }
    Ok(PunchContext {
        prior: r.prior_found.then_some(Prior {
            request_hash: r.request_hash,
            response: r.response,
        }),
        device_allowed: r.device_allowed,
        consent: r.consent,
        restricted: r.restricted,
        sites: r.sites.0,
        policies: r.policies.0,
        templates: r
            .template_ids
            .into_iter()
            .zip(r.descriptors)
            .zip(r.nonces)
            .map(|((id, ct), nonce)| (id, ct, nonce))
            .collect(),
    })
}

impl PunchContext {
    /// The policy in force at `site` (its override, else the global one, else the default),
    /// as `policy::effective_policy` answers.
    pub fn policy(&self, site: Option<Uuid>) -> AppResult<AttendancePolicy> {
        let stored = site
            .and_then(|s| self.policies.get(&s.to_string()))
            .or_else(|| self.policies.get("global"));
        stored
            .map(|v| serde_json::from_value(v.clone()))
            .transpose()
            .map_err(AppError::internal)
            .map(Option::unwrap_or_default)
    }

    /// The employee's templates, decrypted: (template, employee, descriptor), as
    /// `face_templates::load_templates` answers.
    pub fn templates(
        &self,
        state: &AppState,
        employee: Uuid,
        model: &str,
    ) -> AppResult<Vec<(Uuid, Uuid, Descriptor)>> {
        self.templates
            .iter()
            .map(|(id, ct, nonce)| {
                Ok((
                    *id,
                    employee,
                    state.cipher.open(*id, employee, model, ct, nonce)?,
                ))
            })
            .collect()
    }
}
