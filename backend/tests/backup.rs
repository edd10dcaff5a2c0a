//! Backup and restore as a round trip with real PostgreSQL tools: a database with an enrolled,
//! checked-in employee is backed up, restored into an empty database with its own photo
//! directory, and there the chain verifies, the evidence photo is readable and a new check-in
//! matches the enrolment made before the backup. Refusals: another descriptor key, a database
//! that is not empty, a file that is not a backup.

mod common;

use axum::http::StatusCode;
use common::face::{enrol, evidence, punch};
use common::{PASSWORD, TestApp};
use faceid_server::backup::{self, BackupError};
use faceid_server::photo_store::PhotoStore;
use serde_json::json;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

const ENROL: [&str; 2] = [
    "face_recognition/barack_obama/obama.jpg",
    "face_recognition/barack_obama/obama_small.jpg",
];
const PROBE: &str = "face_recognition/barack_obama/obama-720p.jpg";

/// The URL of `database` on the test cluster.
fn url_of(database: &str) -> String {
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let (server, _) = base.rsplit_once('/').expect("a database in DATABASE_URL");
    format!("{server}/{database}")
}

async fn current_database(pool: &PgPool) -> String {
    sqlx::query_scalar("SELECT current_database()")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// A fresh, empty database beside the test's own; dropped by the caller.
async fn empty_database(pool: &PgPool, name: &str) -> PgPool {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name}"
    )))
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(pool)
        .await
        .unwrap();
    PgPoolOptions::new()
        .max_connections(4)
        .connect(&url_of(name))
        .await
        .unwrap()
}

/// An app on `pool` with the engine and photos in `dir`.
fn app_with_photos(pool: PgPool, dir: &std::path::Path) -> Option<TestApp> {
    let engine = common::face::engine()?;
    common::face::faces_dir()?;
    let mut app = TestApp::with_settings(
        pool,
        faceid_server::Settings {
            photo_store_url: Some(format!("file://{}", dir.display())),
            ..common::settings()
        },
    );
    app.state = app.state.clone().with_face_engine(engine);
    app.router = faceid_server::router(app.state.clone());
    Some(app)
}

#[sqlx::test(migrations = "./migrations")]
async fn backup_then_restore_round_trips_the_chain_photos_and_faces(pool: PgPool) {
    let photos_a = tempfile::tempdir().unwrap();
    let Some(app) = app_with_photos(pool.clone(), photos_a.path()) else {
        eprintln!("SKIPPED: face models or ../shared/faces missing");
        return;
    };
    app.bootstrap_admin("root").await;
    let admin = app.login("root").await.access_token;
    let site = app.create_site(&admin, "Main street").await;
    app.create_employee(
        &admin,
        json!({"login": "ann", "password": PASSWORD, "first_name": "Ann", "last_name": "Lee",
               "role": "user", "site_ids": [site]}),
    )
    .await;
    common::face::prepare_face_check_in(&app, &admin).await;
    let ann = app.login("ann").await.access_token;
    common::face::grant_biometric_consent(&app, &ann).await;
    let r = enrol(&app, &ann, &ENROL).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = punch(&app, &ann, &evidence(55.75, 37.61), PROBE).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["verdict"], "verified", "{}", r.body);
    let event = r.body["event_id"].as_str().unwrap().to_owned();

    let work = tempfile::tempdir().unwrap();
    let archive = work.path().join("faceid.backup");
    let secrets = common::secrets();
    let source_url = url_of(&current_database(&pool).await);
    let store_a = PhotoStore::new(
        Some(&format!("file://{}", photos_a.path().display())),
        work.path(),
    );
    let made = backup::backup(&source_url, &pool, &store_a, &secrets, &archive)
        .await
        .unwrap();
    assert!(made.manifest.photos >= 1, "{:?}", made.manifest);
    assert_eq!(backup::read_manifest(&archive).unwrap(), made.manifest);
    assert!(
        made.manifest
            .secrets_kept_elsewhere
            .iter()
            .any(|s| s.starts_with("descriptor_key"))
    );

    // Restore into an empty database with an empty photo directory.
    // Unquoted SQL names fold to lower case; sqlx's test databases have upper-case letters.
    let target_name = format!("{}_restored", current_database(&pool).await).to_lowercase();
    let target = empty_database(&pool, &target_name).await;
    let photos_b = tempfile::tempdir().unwrap();
    let store_b = PhotoStore::new(
        Some(&format!("file://{}", photos_b.path().display())),
        work.path(),
    );

    // Another descriptor key is refused before anything is written.
    let mut other = common::secrets();
    other.descriptor_key = [9; 32];
    let err = backup::restore(
        &archive,
        &url_of(&target_name),
        &target,
        &store_b,
        &other,
        false,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, BackupError::DescriptorKeyMismatch { .. }),
        "{err}"
    );
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .fetch_one(&target)
    .await
    .unwrap();
    assert_eq!(tables, 0);

    backup::restore(
        &archive,
        &url_of(&target_name),
        &target,
        &store_b,
        &secrets,
        false,
    )
    .await
    .unwrap();
    assert_eq!(
        store_b.list_keys().await.unwrap(),
        store_a.list_keys().await.unwrap()
    );

    let restored = app_with_photos(target.clone(), photos_b.path()).unwrap();
    let admin = restored.login("root").await.access_token;
    let r = restored
        .get("/api/v1/attendance/chain/verify", &admin)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["ok"], true, "{}", r.body);
    assert!(r.body["length"].as_i64().unwrap() >= 1);
    let photo = restored
        .raw(
            axum::http::Request::builder()
                .uri(format!("/api/v1/attendance/events/{event}/photo"))
                .header("authorization", format!("Bearer {admin}"))
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(photo.status, StatusCode::OK);
    // The enrolment from before the backup still recognises her.
    let ann = restored.login("ann").await.access_token;
    let r = punch(&restored, &ann, &evidence(55.75, 37.61), PROBE).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["verdict"], "verified", "{}", r.body);

    // A second restore into the now filled database is refused without --force.
    let err = backup::restore(
        &archive,
        &url_of(&target_name),
        &target,
        &store_b,
        &secrets,
        false,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, BackupError::NotEmpty { .. }), "{err}");
    // With --force the database is replaced by the backup: the second check-in is gone.
    backup::restore(
        &archive,
        &url_of(&target_name),
        &target,
        &store_b,
        &secrets,
        true,
    )
    .await
    .unwrap();
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM attendance_events")
        .fetch_one(&target)
        .await
        .unwrap();
    let original: i64 = sqlx::query_scalar("SELECT count(*) FROM attendance_events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(events, original);
    // The schema set aside during the forced restore is gone once it succeeded.
    let set_aside: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'faceid_before_restore_%'",
    )
    .fetch_one(&target)
    .await
    .unwrap();
    assert_eq!(set_aside, 0);

    target.close().await;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {target_name}")))
        .execute(&pool)
        .await
        .unwrap();
}

#[sqlx::test(migrations = "./migrations")]
async fn a_file_that_is_not_a_backup_is_refused_by_name(pool: PgPool) {
    let work = tempfile::tempdir().unwrap();
    let junk = work.path().join("junk.tar");
    std::fs::write(&junk, b"this is not a tar archive at all").unwrap();
    let store = PhotoStore::new(Some("memory:"), work.path());
    let url = url_of(&current_database(&pool).await);
    let err = backup::restore(&junk, &url, &pool, &store, &common::secrets(), false)
        .await
        .unwrap_err();
    assert!(matches!(err, BackupError::NotABackup(..)), "{err}");
    assert!(err.to_string().contains("junk.tar"), "{err}");

    // A backup written to a directory that does not exist fails without leaving a file.
    let missing = work.path().join("no/such/dir/faceid.backup");
    let err = backup::backup(&url, &pool, &store, &common::secrets(), &missing)
        .await
        .unwrap_err();
    assert!(matches!(err, BackupError::Io { .. }), "{err}");
    assert!(!missing.exists());
}
