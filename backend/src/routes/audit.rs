//! Reading the audit log.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use faceid_protocol::audit::AUDIT_PATH;
use faceid_protocol::audit::AuditQuery;
use faceid_protocol::audit::{AuditEntry, AuditPage};
use sqlx::QueryBuilder;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Admin;
use crate::error::AppResult;
use crate::extract::ApiQuery;
use crate::routes::Paging;

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    at: DateTime<Utc>,
    actor_id: Option<Uuid>,
    actor_login: Option<String>,
    action: String,
    entity_type: String,
    entity_id: Option<Uuid>,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
    request_id: Option<String>,
}

fn push_filters(qb: &mut QueryBuilder<sqlx::Postgres>, q: &AuditQuery) {
    if let Some(t) = &q.entity_type {
        qb.push(" AND entity_type = ").push_bind(t.clone());
    }
    if let Some(e) = q.entity_id {
        qb.push(" AND entity_id = ").push_bind(e);
    }
    if let Some(a) = q.actor_id {
        qb.push(" AND actor_id = ").push_bind(a);
    }
}

/// The audit log of administrative writes, newest first.
#[utoipa::path(get, path = AUDIT_PATH, tag = "audit", security(("bearer" = [])),
    params(AuditQuery),
    responses((status = 200, description = "a page of entries", body = AuditPage)))]
pub async fn list(
    State(state): State<AppState>,
    Admin(_): Admin,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> AppResult<Json<AuditPage>> {
    let (limit, offset) = Paging::resolve(q.limit, q.offset)?;
    let mut count = QueryBuilder::new("SELECT count(*) FROM audit_log WHERE true");
    push_filters(&mut count, &q);
    let total: i64 = count.build_query_scalar().fetch_one(&state.db).await?;
    let mut qb = QueryBuilder::new(
        "SELECT id, at, actor_id, actor_login, action, entity_type, entity_id, before, after, request_id
           FROM audit_log WHERE true",
    );
    push_filters(&mut qb, &q);
    qb.push(" ORDER BY id DESC LIMIT ")
        .push_bind(i64::from(limit))
        .push(" OFFSET ")
        .push_bind(i64::from(offset));
    let rows: Vec<Row> = qb.build_query_as().fetch_all(&state.db).await?;
    Ok(Json(AuditPage {
        items: rows
            .into_iter()
            .map(|r| AuditEntry {
                id: r.id,
                at: r.at,
                actor_id: r.actor_id,
                actor_login: r.actor_login,
                action: r.action,
                entity_type: r.entity_type,
                entity_id: r.entity_id,
                before: r.before,
                after: r.after,
                request_id: r.request_id,
            })
            .collect(),
        total,
        limit,
        offset,
    }))
}
