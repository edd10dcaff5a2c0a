//! The "done when" story of the foundation, through the HTTP API.

mod common;

use axum::http::{Method, StatusCode};
use common::{PASSWORD, TestApp};
use serde_json::json;
use sqlx::PgPool;

#[sqlx::test(migrations = "./migrations")]
async fn admin_operator_user_story(pool: PgPool) {
    let app = TestApp::new(pool);
    app.bootstrap_admin("admin").await;
    let admin = app.login("admin").await.access_token;

    let kitchen = app.create_department(&admin, "Kitchen").await;
    let hall = app.create_department(&admin, "Hall").await;
    let site = app.create_site(&admin, "Main street").await;

    let op_id = app
        .create_employee(
            &admin,
            json!({"login": "olga", "password": PASSWORD, "first_name": "Olga", "last_name": "Petrova",
                   "role": "operator", "scope": {"department_ids": [kitchen], "site_ids": []}}),
        )
        .await;
    let cook = app
        .create_employee(&admin, json!({"login": "cook", "password": PASSWORD, "first_name": "Pavel",
            "last_name": "Smirnov", "role": "user", "department_id": kitchen, "card_number": "C-17"}))
        .await;
    let waiter = app
        .create_employee(&admin, json!({"login": "waiter", "password": PASSWORD, "first_name": "Anna",
            "last_name": "Ivanova", "role": "user", "department_id": hall, "site_ids": [site]}))
        .await;

    let operator = app.login("olga").await.access_token;
    let user = app.login("cook").await.access_token;

    // The operator sees only the kitchen.
    let r = app.get("/api/v1/employees", &operator).await;
    assert_eq!(r.status, StatusCode::OK);
    let logins: Vec<&str> = r.body["items"].as_array().unwrap().iter().map(|e| e["login"].as_str().unwrap()).collect();
    assert_eq!(logins, ["cook"]);
    assert_eq!(r.body["total"], 1);
    let r = app.get(&format!("/api/v1/employees/{waiter}"), &operator).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "out_of_scope"));
    let r = app.get(&format!("/api/v1/employees?department_id={hall}"), &operator).await;
    assert_eq!(r.body["total"], 0);
    // ... and cannot act outside it; nothing changes.
    let r = app.patch(&format!("/api/v1/employees/{waiter}"), &operator, json!({"first_name": "X"})).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "out_of_scope"));
    let r = app.call(Method::POST, &format!("/api/v1/employees/{waiter}/dismiss"), Some(&operator), None).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "out_of_scope"));
    let r = app.post("/api/v1/employees", &operator, common::user_body("newbie", Some(hall))).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "out_of_scope"));
    let r = app.patch(&format!("/api/v1/employees/{cook}"), &operator, json!({"department_id": hall})).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "out_of_scope"));
    let mut b = common::user_body("boss", Some(kitchen));
    b["role"] = json!("admin");
    let r = app.post("/api/v1/employees", &operator, b).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "role_not_allowed"));
    let r = app.patch(&format!("/api/v1/employees/{cook}"), &operator, json!({"role": "admin"})).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "role_not_allowed"));
    let r = app.patch(&format!("/api/v1/employees/{op_id}"), &operator, json!({"scope": {"department_ids": [kitchen, hall]}})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app.get(&format!("/api/v1/employees/{waiter}"), &admin).await;
    assert_eq!(r.body["first_name"], "Anna");
    assert_eq!(r.body["status"], "active");
    assert_eq!(r.body["department_id"], hall.to_string());
    let r = app.get(&format!("/api/v1/employees/{cook}"), &admin).await;
    assert_eq!(r.body["role"], "user");

    // Within scope the operator works.
    let r = app.post("/api/v1/employees", &operator, common::user_body("dishwasher", Some(kitchen))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = app.patch(&format!("/api/v1/employees/{cook}"), &operator, json!({"first_name": "Pasha", "card_number": null})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["first_name"], "Pasha");
    assert_eq!(r.body["card_number"], serde_json::Value::Null);

    // An operator scoped to a site sees the waiter, who is assigned to it.
    let r = app.patch(&format!("/api/v1/employees/{op_id}"), &admin,
        json!({"scope": {"department_ids": [kitchen], "site_ids": [site]}})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app.get("/api/v1/employees?q=ivanova", &operator).await;
    assert_eq!(r.body["total"], 1, "{}", r.body);

    // The user gets 403 on admin and operator endpoints and sees themselves.
    for (m, p) in [
        (Method::GET, "/api/v1/employees".to_owned()),
        (Method::GET, format!("/api/v1/employees/{cook}")),
        (Method::POST, "/api/v1/departments".to_owned()),
        (Method::GET, "/api/v1/devices".to_owned()),
        (Method::GET, "/api/v1/audit".to_owned()),
    ] {
        let r = app.call(m.clone(), &p, Some(&user), Some(json!({"name": "x"}))).await;
        assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"), "{m} {p}");
    }
    let r = app.get("/api/v1/me", &user).await;
    assert_eq!(r.body["first_name"], "Pasha");

    // Search and filters.
    let r = app.get("/api/v1/employees?q=C-17", &admin).await;
    assert_eq!(r.body["total"], 0, "card number was cleared");
    let r = app.get(&format!("/api/v1/employees?site_id={site}"), &admin).await;
    assert_eq!(r.body["items"][0]["login"], "waiter");
    let r = app.get("/api/v1/employees?role=operator", &admin).await;
    assert_eq!(r.body["items"][0]["scope"]["site_ids"], json!([site]));
    let r = app.get("/api/v1/employees?limit=2&offset=0", &admin).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(r.body["total"], 5);

    // Refresh-token reuse revokes the family.
    let pair = app.login("cook").await;
    let r = app.call(Method::POST, "/api/v1/auth/refresh", None, Some(json!({"refresh_token": pair.refresh_token}))).await;
    assert_eq!(r.status, StatusCode::OK);
    let newer = r.body["access_token"].as_str().unwrap().to_owned();
    let r = app.call(Method::POST, "/api/v1/auth/refresh", None, Some(json!({"refresh_token": pair.refresh_token}))).await;
    assert_eq!(r.code(), "refresh_token_reused");
    assert_eq!(app.get("/api/v1/me", &newer).await.status, StatusCode::UNAUTHORIZED);

    // Every write is in the audit log with who and before/after.
    let r = app.get(&format!("/api/v1/audit?entity_type=employee&entity_id={cook}"), &admin).await;
    assert_eq!(r.status, StatusCode::OK);
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{}", r.body);
    assert_eq!(items[0]["action"], "employee.update");
    assert_eq!(items[0]["actor_login"], "olga");
    assert_eq!(items[0]["before"]["first_name"], "Pavel");
    assert_eq!(items[0]["after"]["first_name"], "Pasha");
    assert_eq!(items[1]["action"], "employee.create");
    assert_eq!(items[1]["actor_login"], "admin");
    assert!(items[0]["request_id"].is_string());
    let r = app.get("/api/v1/audit?entity_type=department", &admin).await;
    assert_eq!(r.body["total"], 2);
}
