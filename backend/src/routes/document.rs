//! The OpenAPI document made true to what the server answers: every operation id unique, and
//! every error an operation can answer documented, as `application/problem+json`.
//!
//! Handlers document their specific errors (`404 no such employee`); the errors every
//! operation of a kind shares (a malformed query, a missing token, an outage) are added here
//! once, so a new endpoint cannot forget them. schemathesis checks the result in CI
//! (`tests/run.d/schemathesis.sh`).

use faceid_protocol::MAX_PAGE_LIMIT;
use faceid_protocol::problem::PROBLEM_CONTENT_TYPE;
use utoipa::Number;
use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, Response, Schema};

use super::MAX_PAGE_OFFSET;
use crate::auth::ALLOWED_BEFORE_PASSWORD_CHANGE;

/// Applies both rules below to the router's document.
pub fn finish(doc: &mut OpenApi) {
    unique_operation_ids(doc);
    document_errors(doc);
    password_change_required(doc);
    page_bounds(doc);
}

fn operations(item: &mut PathItem) -> Vec<&mut Operation> {
    methods(item).into_iter().map(|(_, op)| op).collect()
}

/// The operations of a path with their methods (lower case).
fn methods(item: &mut PathItem) -> Vec<(&'static str, &mut Operation)> {
    [
        ("get", &mut item.get),
        ("put", &mut item.put),
        ("post", &mut item.post),
        ("delete", &mut item.delete),
        ("patch", &mut item.patch),
    ]
    .into_iter()
    .filter_map(|(method, op)| op.as_mut().map(|op| (method, op)))
    .collect()
}

/// Renames every operation whose id is shared to `<id>_<path words>` (e.g. `list_devices`,
/// `login_auth_web`); unique ids stay as they are. Handlers in different modules share names
/// (`list`, `get`, `login`), and a generated client keys operations by id.
fn unique_operation_ids(doc: &mut OpenApi) {
    let mut counts = std::collections::HashMap::<String, usize>::new();
    for item in doc.paths.paths.values_mut() {
        for op in operations(item) {
            if let Some(id) = &op.operation_id {
                *counts.entry(id.clone()).or_default() += 1;
            }
        }
    }
    for (path, item) in doc.paths.paths.iter_mut() {
        let words: Vec<&str> = path
            .trim_start_matches("/api/v1/")
            .split('/')
            .filter(|w| !w.starts_with('{') && !w.is_empty())
            .collect();
        let suffix = words.join("_").replace('-', "_");
        for op in operations(item) {
            if let Some(id) = &op.operation_id
                && counts.get(id).copied().unwrap_or(0) > 1
            {
                op.operation_id = Some(format!("{id}_{suffix}"));
            }
        }
    }
}

/// Errors are answered as problem+json (`error.rs`): every documented 4xx/5xx gets that media
/// type, and the errors an operation shares with all operations of its kind are added when the
/// handler did not document them.
fn document_errors(doc: &mut OpenApi) {
    for (path, item) in doc.paths.paths.iter_mut() {
        let has_path_params = path.contains('{');
        let is_probe = matches!(path.as_str(), "/healthz" | "/readyz");
        for op in operations(item) {
            for (status, response) in op.responses.responses.iter_mut() {
                let is_error = status.starts_with('4') || status.starts_with('5');
                if let (true, RefOr::T(response)) = (is_error, response)
                    && let Some(content) = response.content.shift_remove("application/json")
                {
                    response
                        .content
                        .insert(PROBLEM_CONTENT_TYPE.to_owned(), content);
                }
            }
            let has_params = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
            let has_body = op.request_body.is_some();
            let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
            let mut shared: Vec<(&str, &str)> = Vec::new();
            if has_params || has_body {
                shared.push((
                    "400",
                    "`invalid_query`, `invalid_path`, `malformed_json` or another malformed part of the request",
                ));
                shared.push((
                    "422",
                    "`validation_failed`: a field is out of its range; `errors` names each field",
                ));
            }
            if has_body {
                shared.push((
                    "413",
                    "`payload_too_large`: the body is over the server's limit",
                ));
                shared.push((
                    "415",
                    "`unsupported_media_type`: the body is not of the documented content type",
                ));
            }
            if secured {
                shared.push(("401", "`missing_token`, `invalid_token` or `expired_token`"));
                shared.push((
                    "403",
                    "`role_not_allowed`, `out_of_scope` or another refusal of this caller",
                ));
            }
            if has_path_params {
                shared.push(("404", "no such resource"));
            }
            if !is_probe {
                shared.push((
                    "503",
                    "`unavailable`: the database is not reachable; retry after `Retry-After`",
                ));
            }
            for (status, description) in shared {
                op.responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| RefOr::T(problem_response(description)));
            }
        }
    }
}

const PASSWORD_CHANGE_REQUIRED: &str = "`password_change_required`: the caller's password was set by an administrator and must be changed first (`POST /api/v1/me/password`)";

/// Adds 403 `password_change_required` to every operation taking an access token but the two
/// an account may call before changing the password its administrator set; after
/// [`document_errors`], so every such operation has its 403 to extend.
fn password_change_required(doc: &mut OpenApi) {
    for (path, item) in doc.paths.paths.iter_mut() {
        for (method, op) in methods(item) {
            let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
            // The operations the server lets through before the change (the one list).
            let allowed = ALLOWED_BEFORE_PASSWORD_CHANGE
                .iter()
                .any(|(m, p)| m.eq_ignore_ascii_case(method) && *p == path.as_str());
            if !secured || allowed {
                continue;
            }
            let response = op
                .responses
                .responses
                .entry("403".to_owned())
                .or_insert_with(|| RefOr::T(problem_response("refused")));
            if let RefOr::T(response) = response
                && !response.description.contains("password_change_required")
            {
                response.description =
                    format!("{}; {PASSWORD_CHANGE_REQUIRED}", response.description);
            }
        }
    }
}

fn problem_response(description: &str) -> Response {
    let mut response = Response::new(description);
    response.content.insert(
        PROBLEM_CONTENT_TYPE.to_owned(),
        RefOr::T(Content::new(Some(Ref::from_schema_name("Problem")))),
    );
    response
}

/// `limit` and `offset` of every list are checked by one rule (`Paging::resolve`); their
/// bounds are written into the document here, from the same constants.
fn page_bounds(doc: &mut OpenApi) {
    for item in doc.paths.paths.values_mut() {
        for op in operations(item) {
            for param in op.parameters.iter_mut().flatten() {
                let RefOr::T(param) = param else { continue };
                let bounds = match param.name.as_str() {
                    "limit" => (1, MAX_PAGE_LIMIT),
                    "offset" => (0, MAX_PAGE_OFFSET),
                    _ => continue,
                };
                if param.parameter_in != ParameterIn::Query {
                    continue;
                }
                if let Some(RefOr::T(Schema::Object(schema))) = param.schema.as_mut() {
                    schema.minimum = Some(Number::UInt(bounds.0 as usize));
                    schema.maximum = Some(Number::UInt(bounds.1 as usize));
                }
            }
        }
    }
}
