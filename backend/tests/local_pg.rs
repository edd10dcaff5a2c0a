//! The managed local PostgreSQL: first start creates the cluster, a restart keeps the data,
//! a missing installation or an unreachable directory is a clear error.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use faceid_server::local_pg::{LocalPgError, LocalPostgres, PgBinaries};

/// A temporary data directory the `postgres` user can enter (tempdirs are 0700).
fn data_dir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("faceid-lpg")
        .tempdir_in("/tmp")
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
    dir
}

/// psql's answer, or its error.
fn try_psql(binaries: &PgBinaries, url: &str, sql: &str) -> Result<String, String> {
    let psql = binaries.bindir.join("psql");
    let psql = if psql.exists() { psql } else { "psql".into() };
    let out = Command::new(psql)
        .args([
            url,
            "-X",
            "-q",
            "-t",
            "-A",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        ])
        .output()
        .expect("psql runs");
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn psql(binaries: &PgBinaries, url: &str, sql: &str) -> String {
    try_psql(binaries, url, sql).unwrap_or_else(|e| panic!("psql failed: {e}"))
}

fn binaries_or_skip() -> Option<PgBinaries> {
    match PgBinaries::discover() {
        Ok(b) => Some(b),
        Err(e) => {
            eprintln!("SKIPPED: no PostgreSQL installation here: {e}");
            None
        }
    }
}

#[tokio::test]
async fn first_start_creates_cluster_and_restart_keeps_data() {
    let Some(binaries) = binaries_or_skip() else {
        return;
    };
    let dir = data_dir();

    let pg = LocalPostgres::start_with(dir.path(), binaries.clone())
        .await
        .unwrap();
    let url = pg.database_url();
    assert!(url.contains("/faceid?host="), "{url}");
    psql(
        &binaries,
        &url,
        "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')",
    );
    assert_eq!(psql(&binaries, &url, "SHOW listen_addresses"), "");
    pg.stop().await.unwrap();

    // Stopped: the socket is gone.
    assert!(!dir.path().join("postgres/run/.s.PGSQL.5432").exists());

    let pg = LocalPostgres::start_with(dir.path(), binaries.clone())
        .await
        .unwrap();
    assert_eq!(
        psql(&binaries, &pg.database_url(), "SELECT v FROM kept"),
        "still here"
    );

    // A second user of a running cluster reuses it and does not stop it.
    let second = LocalPostgres::start_with(dir.path(), binaries.clone())
        .await
        .unwrap();
    second.stop().await.unwrap();
    assert_eq!(
        psql(&binaries, &pg.database_url(), "SELECT count(*) FROM kept"),
        "1"
    );
    pg.stop().await.unwrap();
}

/// The cluster dies as in a crash: immediate shutdown, no checkpoint.
fn crash(binaries: &PgBinaries, dir: &Path) {
    let pg_ctl = binaries.bindir.join("pg_ctl");
    let data = dir.join("postgres/data");
    let mut cmd = if nix::unistd::Uid::effective().is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(pg_ctl);
        c
    } else {
        Command::new(pg_ctl)
    };
    let out = cmd
        .arg("-D")
        .arg(&data)
        .args(["stop", "-m", "immediate", "-w"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn socket(dir: &Path) -> std::path::PathBuf {
    dir.join("postgres/run/.s.PGSQL.5432")
}

#[tokio::test]
async fn serve_adopts_a_cluster_left_running_and_stops_it_on_exit() {
    let Some(binaries) = binaries_or_skip() else {
        return;
    };
    let dir = data_dir();
    // An earlier server started the cluster and died without stopping it.
    let crashed = LocalPostgres::start_with(dir.path(), binaries.clone())
        .await
        .unwrap();
    drop(crashed);
    assert!(socket(dir.path()).exists());

    let served = LocalPostgres::start_for_serve(dir.path(), binaries.clone())
        .await
        .unwrap();
    // A second server on the same data directory is refused while the first runs.
    let err = LocalPostgres::start_for_serve(dir.path(), binaries.clone())
        .await
        .unwrap_err();
    assert!(matches!(err, LocalPgError::AlreadyServed { .. }), "{err}");
    assert!(err.to_string().contains("--data-dir"), "{err}");
    // A short command meanwhile uses it and leaves it running.
    let command = LocalPostgres::start_with(dir.path(), binaries.clone())
        .await
        .unwrap();
    command.stop().await.unwrap();
    assert_eq!(psql(&binaries, &served.database_url(), "SELECT 1"), "1");

    served.stop().await.unwrap();
    assert!(
        !socket(dir.path()).exists(),
        "the adopted cluster still runs"
    );
    // The lock went with the server: the next one starts.
    let next = LocalPostgres::start_for_serve(dir.path(), binaries.clone())
        .await
        .unwrap();
    next.stop().await.unwrap();
}

#[tokio::test]
async fn a_served_cluster_that_dies_is_restarted_with_its_data() {
    let Some(binaries) = binaries_or_skip() else {
        return;
    };
    let dir = data_dir();
    let served = LocalPostgres::start_for_serve(dir.path(), binaries.clone())
        .await
        .unwrap();
    let url = served.database_url();
    psql(
        &binaries,
        &url,
        "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('after the crash')",
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let supervisor = served.supervise(stopped);

    crash(&binaries, dir.path());
    assert!(!socket(dir.path()).exists());
    // Back within the supervisor's rounds (bounded, so a broken supervisor fails, not hangs).
    let mut back = false;
    for _ in 0..300 {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        if socket(dir.path()).exists() {
            back = true;
            break;
        }
    }
    assert!(back, "the supervisor did not restart the cluster");
    let mut answer = Err(String::new());
    for _ in 0..50 {
        answer = try_psql(&binaries, &url, "SELECT v FROM kept");
        if answer.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(answer.as_deref(), Ok("after the crash"));

    stop.send(true).unwrap();
    assert_eq!(supervisor.await.unwrap(), 1);
    served.stop().await.unwrap();
    assert!(!socket(dir.path()).exists());
}

#[tokio::test]
async fn missing_installation_is_a_clear_error() {
    let empty = tempfile::tempdir().unwrap();
    let err = PgBinaries::find_in(&[empty.path().to_owned()]).unwrap_err();
    assert!(matches!(err, LocalPgError::BinariesNotFound { .. }));
    assert!(err.to_string().contains("install"), "{err}");
}

#[tokio::test]
async fn unreachable_directory_is_a_clear_error_when_root() {
    let Some(binaries) = binaries_or_skip() else {
        return;
    };
    if !nix::unistd::Uid::effective().is_root() {
        eprintln!("SKIPPED: only meaningful when running as root");
        return;
    }
    let private = tempfile::tempdir().unwrap();
    std::fs::set_permissions(private.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let nested = private.path().join("data");
    let err = match LocalPostgres::start_with(&nested, binaries).await {
        Ok(pg) => {
            pg.stop().await.unwrap();
            panic!("a cluster started in a directory the postgres user cannot enter");
        }
        Err(e) => e,
    };
    assert!(
        matches!(err, LocalPgError::DirectoryNotReachable { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("--data-dir"));
}

#[test]
fn overlong_data_dir_is_refused_before_anything_runs() {
    let long = Path::new("/tmp").join("d".repeat(120));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let binaries = PgBinaries {
        bindir: "/nonexistent".into(),
    };
    let err = rt
        .block_on(LocalPostgres::start_with(&long, binaries))
        .unwrap_err();
    let _ = std::fs::remove_dir_all(&long);
    assert!(
        matches!(err, LocalPgError::SocketPathTooLong { .. }),
        "{err}"
    );
}
