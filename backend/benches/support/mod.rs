//! What the benches on PostgreSQL share.

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};

/// Drops and creates database `db` on the server of `url`, migrates it and answers a pool of
/// `connections` to it.
pub async fn fresh_database(url: &str, db: &str, connections: u32) -> PgPool {
    let opts: PgConnectOptions = url.parse().expect("DATABASE_URL");
    let mut admin = opts.connect().await.expect("connect");
    for sql in [
        format!("DROP DATABASE IF EXISTS {db}"),
        format!("CREATE DATABASE {db}"),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut admin)
            .await
            .expect("create the bench database");
    }
    admin.close().await.ok();
    let pool = PgPoolOptions::new()
        .max_connections(connections)
        .connect_with(opts.database(db))
        .await
        .expect("bench database");
    faceid_server::db::migrate(&pool).await.expect("migrations");
    pool
}

/// Drops database `db` on the server of `url`, if it can.
// Each bench compiles this module on its own; not all of them drop their database.
#[allow(dead_code)]
pub async fn drop_database(url: &str, db: &str) {
    let opts: PgConnectOptions = url.parse().expect("DATABASE_URL");
    if let Ok(mut admin) = opts.connect().await {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {db}")))
            .execute(&mut admin)
            .await;
    }
}
