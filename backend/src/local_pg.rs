//! A PostgreSQL cluster managed by the server inside its data directory, so that
//! `faceid-server serve` works on a fresh machine with no database configured.
//!
//! Layout under the data directory:
//! - `postgres/data/`  the cluster (created with `initdb` on first start)
//! - `postgres/run/`   the Unix socket directory (no TCP listener: only local processes that
//!   can enter this 0700 directory can connect, which is why `trust` authentication is safe)
//! - `postgres/server.log`
//! - `postgres/serve.lock` held by the one `serve` process that owns the cluster
//!
//! `serve` owns the cluster: it starts it (or adopts one an earlier, crashed server left
//! running), restarts it when it dies ([`LocalPostgres::supervise`]) and stops it on exit.
//! Short commands (`migrate`, `admin create`, `backup`) use a running cluster without stopping
//! it, and start and stop it themselves only when nothing runs it.
//!
//! When the server runs as root, PostgreSQL (which refuses to run as root) runs as the
//! `postgres` system user, and the `postgres/` directory belongs to that user.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use nix::unistd::{Gid, Uid, User, chown};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// Name of the database the server uses inside the managed cluster.
pub const DATABASE_NAME: &str = "faceid";
/// Superuser created by `initdb`.
pub const SUPERUSER: &str = "faceid";
/// Port number; only names the socket file (`.s.PGSQL.<port>`), there is no TCP listener.
const PORT: u16 = 5432;
/// Unix socket paths are limited to 107 bytes on Linux.
const MAX_SOCKET_PATH: usize = 107;
/// Marks that the `faceid` database exists, so it is not re-created on every start.
const DATABASE_MARKER: &str = "faceid-database-created";

#[derive(Debug, thiserror::Error)]
pub enum LocalPgError {
    #[error(
        "PostgreSQL server programs (initdb, pg_ctl, postgres) were not found on PATH, in \
         FACEID_PG_BINDIR or under /usr/lib/postgresql/*/bin (searched: {searched}). Install \
         PostgreSQL (Debian/Ubuntu: `apt-get install -y postgresql`), or set DATABASE_URL to use \
         an existing server"
    )]
    BinariesNotFound { searched: String },
    #[error(
        "running as root, PostgreSQL must run as the `postgres` system user, which does not \
         exist; install PostgreSQL from the distribution (it creates that user) or run the \
         server as an ordinary user"
    )]
    NoPostgresUser,
    #[error(
        "the `postgres` system user cannot reach {path}: choose a --data-dir it can enter \
         (e.g. under /var/lib), or set DATABASE_URL"
    )]
    DirectoryNotReachable { path: PathBuf },
    #[error(
        "the socket path {path} is longer than {MAX_SOCKET_PATH} bytes: use a shorter --data-dir"
    )]
    SocketPathTooLong { path: PathBuf },
    #[error(
        "another faceid-server serve already runs the local PostgreSQL in {path}: stop it first, \
         or give this one another --data-dir"
    )]
    AlreadyServed { path: PathBuf },
    #[error("{what} failed: {detail}")]
    CommandFailed { what: &'static str, detail: String },
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Where the PostgreSQL server programs live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgBinaries {
    pub bindir: PathBuf,
}

impl PgBinaries {
    /// Looks in `FACEID_PG_BINDIR`, then `PATH`, then `/usr/lib/postgresql/*/bin` (newest first).
    pub fn discover() -> Result<Self, LocalPgError> {
        let mut candidates = Vec::new();
        if let Some(dir) = std::env::var_os("FACEID_PG_BINDIR") {
            candidates.push(PathBuf::from(dir));
        }
        if let Some(path) = std::env::var_os("PATH") {
            candidates.extend(std::env::split_paths(&path));
        }
        candidates.extend(debian_bindirs(Path::new("/usr/lib/postgresql")));
        Self::find_in(&candidates)
    }

    /// The first directory of `candidates` holding all three programs.
    pub fn find_in(candidates: &[PathBuf]) -> Result<Self, LocalPgError> {
        candidates
            .iter()
            .find(|dir| {
                ["initdb", "pg_ctl", "postgres"]
                    .iter()
                    .all(|p| is_executable(&dir.join(p)))
            })
            .map(|dir| PgBinaries {
                bindir: dir.clone(),
            })
            .ok_or_else(|| LocalPgError::BinariesNotFound {
                searched: candidates
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    fn program(&self, name: &str) -> PathBuf {
        self.bindir.join(name)
    }
}

fn debian_bindirs(root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut versioned: Vec<(u32, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version = e.file_name().to_str()?.split('.').next()?.parse().ok()?;
            Some((version, e.path().join("bin")))
        })
        .collect();
    versioned.sort_by_key(|v| std::cmp::Reverse(v.0));
    versioned.into_iter().map(|(_, p)| p).collect()
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Who runs the PostgreSQL programs: ourselves, or the `postgres` user when we are root.
#[derive(Debug, Clone)]
enum RunAs {
    CurrentUser,
    PostgresUser { uid: Uid, gid: Gid },
}

impl RunAs {
    fn detect() -> Result<Self, LocalPgError> {
        if !Uid::effective().is_root() {
            return Ok(RunAs::CurrentUser);
        }
        match User::from_name("postgres") {
            Ok(Some(user)) => Ok(RunAs::PostgresUser {
                uid: user.uid,
                gid: user.gid,
            }),
            _ => Err(LocalPgError::NoPostgresUser),
        }
    }

    fn command(&self, program: &Path) -> Command {
        match self {
            RunAs::CurrentUser => Command::new(program),
            RunAs::PostgresUser { .. } => {
                let mut cmd = Command::new("runuser");
                cmd.args([OsStr::new("-u"), OsStr::new("postgres"), OsStr::new("--")])
                    .arg(program);
                cmd
            }
        }
    }

    fn give(&self, path: &Path) -> Result<(), LocalPgError> {
        if let RunAs::PostgresUser { uid, gid } = self {
            chown(path, Some(*uid), Some(*gid)).map_err(|e| LocalPgError::Io {
                action: "changing the owner of",
                path: path.to_owned(),
                source: e.into(),
            })?;
        }
        Ok(())
    }
}

/// How often the supervisor of a served cluster checks that PostgreSQL runs.
const SUPERVISE_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// A running cluster started by this process. Call [`LocalPostgres::stop`] on shutdown.
#[derive(Debug, Clone)]
pub struct LocalPostgres {
    binaries: PgBinaries,
    run_as: RunAs,
    data: PathBuf,
    socket_dir: PathBuf,
    /// False when the cluster was already running (e.g. another `faceid-server` command is
    /// using it): then we must not stop it.
    started_here: bool,
    /// The `serve.lock` of the owning `serve` process, held while it lives.
    serve_lock: Option<std::sync::Arc<std::fs::File>>,
}

impl LocalPostgres {
    /// For `serve`: takes ownership of the cluster (one `serve` per data directory), starts it
    /// or adopts one left running by an earlier server that did not stop it, and stops it at
    /// [`LocalPostgres::stop`] either way.
    pub async fn start_for_serve(
        data_dir: &Path,
        binaries: PgBinaries,
    ) -> Result<LocalPostgres, LocalPgError> {
        let root = absolute(data_dir)?.join("postgres");
        create_private_dir(&root)?;
        let path = root.join("serve.lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| LocalPgError::Io {
                action: "opening",
                path: path.clone(),
                source: e,
            })?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(LocalPgError::AlreadyServed { path: root });
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(LocalPgError::Io {
                    action: "locking",
                    path,
                    source: e,
                });
            }
        }
        let mut pg = Self::start_with(data_dir, binaries).await?;
        if !pg.started_here {
            tracing::warn!(
                data = %pg.data.display(),
                "adopted a local PostgreSQL left running by an earlier server; it stops with this one"
            );
            pg.started_here = true;
        }
        pg.serve_lock = Some(std::sync::Arc::new(lock));
        Ok(pg)
    }

    /// Creates the cluster on first use and starts it; a cluster found running is used and
    /// left running at [`LocalPostgres::stop`].
    pub async fn start_with(
        data_dir: &Path,
        binaries: PgBinaries,
    ) -> Result<LocalPostgres, LocalPgError> {
        let run_as = RunAs::detect()?;
        let data_dir = absolute(data_dir)?;
        let root = data_dir.join("postgres");
        let data = root.join("data");
        let socket_dir = root.join("run");
        let socket = socket_dir.join(format!(".s.PGSQL.{PORT}"));
        if socket.as_os_str().len() > MAX_SOCKET_PATH {
            return Err(LocalPgError::SocketPathTooLong { path: socket });
        }
        for dir in [&root, &socket_dir] {
            create_private_dir(dir)?;
            run_as.give(dir)?;
        }
        let pg = LocalPostgres {
            binaries,
            run_as,
            data,
            socket_dir,
            started_here: false,
            serve_lock: None,
        };
        pg.check_reachable(&root).await?;
        if !pg.data.join("PG_VERSION").exists() {
            pg.initdb().await?;
        }
        pg.write_settings()?;
        if !pg.data.join(DATABASE_MARKER).exists() {
            pg.create_database().await?;
        }
        pg.start_server().await
    }

    /// Connection string for sqlx: the database over the Unix socket.
    pub fn database_url(&self) -> String {
        format!(
            "postgres://{SUPERUSER}@localhost:{PORT}/{DATABASE_NAME}?host={}",
            percent_encode_path(&self.socket_dir)
        )
    }

    /// Stops the cluster (fast shutdown: open sessions are ended, data is flushed) if this
    /// process started it.
    pub async fn stop(self) -> Result<(), LocalPgError> {
        if !self.started_here {
            return Ok(());
        }
        let out = self
            .pg_ctl()
            .args(["stop", "-m", "fast", "-w", "-t", "60"])
            .output()
            .await
            .map_err(|e| self.spawn_error("pg_ctl stop", e))?;
        if !out.status.success() {
            return Err(LocalPgError::CommandFailed {
                what: "pg_ctl stop",
                detail: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            });
        }
        tracing::info!(data = %self.data.display(), "local PostgreSQL stopped");
        Ok(())
    }

    async fn check_reachable(&self, root: &Path) -> Result<(), LocalPgError> {
        if let RunAs::PostgresUser { .. } = self.run_as {
            let status = self
                .run_as
                .command(Path::new("test"))
                .arg("-x")
                .arg(root)
                .status()
                .await
                .map_err(|e| self.spawn_error("runuser", e))?;
            if !status.success() {
                return Err(LocalPgError::DirectoryNotReachable {
                    path: root.to_owned(),
                });
            }
        }
        Ok(())
    }

    async fn initdb(&self) -> Result<(), LocalPgError> {
        tracing::info!(data = %self.data.display(), "creating local PostgreSQL cluster");
        let out = self
            .run_as
            .command(&self.binaries.program("initdb"))
            .arg("-D")
            .arg(&self.data)
            .args(["-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--locale=C"])
            .output()
            .await
            .map_err(|e| self.spawn_error("initdb", e))?;
        if !out.status.success() {
            // A half-made cluster would make every later start fail: remove it.
            let _ = std::fs::remove_dir_all(&self.data);
            return Err(LocalPgError::CommandFailed {
                what: "initdb",
                detail: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            });
        }
        Ok(())
    }

    /// Settings rewritten at every start, so a moved data directory gets the right socket path.
    fn write_settings(&self) -> Result<(), LocalPgError> {
        let conf = self.data.join("postgresql.conf");
        let include = "include_if_exists = 'faceid.conf'";
        let current = std::fs::read_to_string(&conf).map_err(|e| LocalPgError::Io {
            action: "reading",
            path: conf.clone(),
            source: e,
        })?;
        if !current.lines().any(|l| l.trim() == include) {
            let updated = format!("{current}\n# FaceID-managed settings\n{include}\n");
            write_file(&conf, &updated)?;
        }
        let socket_dir = self.socket_dir.display().to_string().replace('\'', "''");
        let settings = format!(
            "# Written by faceid-server at every start; edit postgresql.conf instead.\n\
             listen_addresses = ''\n\
             port = {PORT}\n\
             unix_socket_directories = '{socket_dir}'\n\
             unix_socket_permissions = 0700\n"
        );
        let path = self.data.join("faceid.conf");
        write_file(&path, &settings)?;
        self.run_as.give(&path)?;
        self.run_as.give(&conf)
    }

    /// Creates the `faceid` database in single-user mode, before the server starts.
    async fn create_database(&self) -> Result<(), LocalPgError> {
        let mut child = self
            .run_as
            .command(&self.binaries.program("postgres"))
            .arg("--single")
            .arg("-D")
            .arg(&self.data)
            .arg("postgres")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| self.spawn_error("postgres --single", e))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(format!("CREATE DATABASE {DATABASE_NAME};\n").as_bytes())
                .await
                .map_err(|e| self.spawn_error("postgres --single", e))?;
        }
        let out = child
            .wait_with_output()
            .await
            .map_err(|e| self.spawn_error("postgres --single", e))?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        let already_exists = stderr.contains("already exists");
        if !out.status.success() || (stderr.contains("ERROR") && !already_exists) {
            return Err(LocalPgError::CommandFailed {
                what: "creating the faceid database",
                detail: stderr.trim().to_owned(),
            });
        }
        write_file(&self.data.join(DATABASE_MARKER), "")
    }

    /// Restarts the cluster whenever it is found not running, until `stop` turns true; for
    /// `serve`, whose requests answer 503 meanwhile. Returns how many times it restarted it.
    pub fn supervise(
        &self,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<u64> {
        let pg = self.clone();
        tokio::spawn(async move {
            let mut restarts = 0;
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(SUPERVISE_EVERY) => {}
                    _ = stop.changed() => {}
                }
                if *stop.borrow() {
                    return restarts;
                }
                match pg.is_running().await {
                    Ok(true) => continue,
                    Ok(false) => {}
                    Err(e) => {
                        tracing::error!(error = %e, "checking the local PostgreSQL failed");
                        continue;
                    }
                }
                tracing::error!(data = %pg.data.display(), "the local PostgreSQL is not running; restarting it");
                match pg.pg_ctl_start().await {
                    Ok(()) => {
                        restarts += 1;
                        metrics::counter!("faceid_local_postgres_restarts_total").increment(1);
                        tracing::warn!(data = %pg.data.display(), restarts, "local PostgreSQL restarted");
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "restarting the local PostgreSQL failed; trying again")
                    }
                }
            }
        })
    }

    /// Whether the cluster's postmaster is alive. On Linux from `postmaster.pid` and `/proc`
    /// (the supervisor asks every few seconds; spawning `pg_ctl status` each time cost a
    /// process start); elsewhere, or when the file cannot be read, from `pg_ctl status`.
    async fn is_running(&self) -> Result<bool, LocalPgError> {
        if !Path::new("/proc/self").exists() {
            return self.pg_ctl_status().await;
        }
        match std::fs::read_to_string(self.data.join("postmaster.pid")) {
            Ok(pid_file) => Ok(pid_file
                .lines()
                .next()
                .and_then(|l| l.trim().parse::<u32>().ok())
                .is_some_and(|pid| {
                    // A stale file may name a pid since reused by another program.
                    std::fs::read_to_string(format!("/proc/{pid}/comm"))
                        .is_ok_and(|comm| comm.trim() == "postgres")
                })),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(_) => self.pg_ctl_status().await,
        }
    }

    async fn pg_ctl_status(&self) -> Result<bool, LocalPgError> {
        let status = self
            .pg_ctl()
            .arg("status")
            .output()
            .await
            .map_err(|e| self.spawn_error("pg_ctl status", e))?;
        Ok(status.status.success())
    }

    async fn start_server(mut self) -> Result<LocalPostgres, LocalPgError> {
        if self.is_running().await? {
            tracing::info!(data = %self.data.display(), "local PostgreSQL already running; using it");
            return Ok(self);
        }
        self.pg_ctl_start().await?;
        self.started_here = true;
        tracing::info!(data = %self.data.display(), "local PostgreSQL started");
        Ok(self)
    }

    async fn pg_ctl_start(&self) -> Result<(), LocalPgError> {
        let log = self.data.parent().unwrap_or(&self.data).join("server.log");
        if !log.exists() {
            write_file(&log, "")?;
            self.run_as.give(&log)?;
        }
        let out = self
            .pg_ctl()
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t", "60", "start"])
            .output()
            .await
            .map_err(|e| self.spawn_error("pg_ctl start", e))?;
        if !out.status.success() {
            return Err(LocalPgError::CommandFailed {
                what: "pg_ctl start",
                detail: format!(
                    "{}\n{}",
                    String::from_utf8_lossy(&out.stderr).trim(),
                    tail(&log, 20)
                ),
            });
        }
        Ok(())
    }

    fn pg_ctl(&self) -> Command {
        let mut cmd = self.run_as.command(&self.binaries.program("pg_ctl"));
        cmd.arg("-D").arg(&self.data);
        cmd
    }

    fn spawn_error(&self, what: &'static str, e: std::io::Error) -> LocalPgError {
        LocalPgError::CommandFailed {
            what,
            detail: e.to_string(),
        }
    }
}

fn absolute(path: &Path) -> Result<PathBuf, LocalPgError> {
    std::fs::create_dir_all(path).map_err(|e| LocalPgError::Io {
        action: "creating",
        path: path.to_owned(),
        source: e,
    })?;
    path.canonicalize().map_err(|e| LocalPgError::Io {
        action: "resolving",
        path: path.to_owned(),
        source: e,
    })
}

fn create_private_dir(dir: &Path) -> Result<(), LocalPgError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)))
        .map_err(|e| LocalPgError::Io {
            action: "creating",
            path: dir.to_owned(),
            source: e,
        })
}

fn write_file(path: &Path, contents: &str) -> Result<(), LocalPgError> {
    std::fs::write(path, contents).map_err(|e| LocalPgError::Io {
        action: "writing",
        path: path.to_owned(),
        source: e,
    })
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn percent_encode_path(path: &Path) -> String {
    path.display()
        .to_string()
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_binaries_name_what_to_install() {
        let empty = tempfile::tempdir().unwrap();
        let err = PgBinaries::find_in(&[empty.path().to_owned()]).unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, LocalPgError::BinariesNotFound { .. }));
        assert!(
            message.contains("apt-get install -y postgresql"),
            "{message}"
        );
        assert!(message.contains(&empty.path().display().to_string()));
    }

    #[test]
    fn debian_versions_are_tried_newest_first() {
        let root = tempfile::tempdir().unwrap();
        for v in ["9.6", "15", "13"] {
            std::fs::create_dir_all(root.path().join(v).join("bin")).unwrap();
        }
        let dirs = debian_bindirs(root.path());
        let names: Vec<String> = dirs
            .iter()
            .map(|d| {
                d.parent()
                    .unwrap()
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(names, ["15", "13", "9.6"]);
    }

    #[test]
    fn socket_directory_is_percent_encoded_in_the_url() {
        assert_eq!(percent_encode_path(Path::new("/a b/run")), "%2Fa%20b%2Frun");
    }
}
