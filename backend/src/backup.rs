//! `faceid-server backup` and `restore`: one file holding a consistent PostgreSQL dump and every
//! photo, with a manifest that names the secrets kept outside it.
//!
//! The archive is a tar file (the `tar` crate): `MANIFEST.json` first, then `database.dump`
//! (`pg_dump --format=custom`, one snapshot, so the hash chain and everything pointing at it are
//! consistent), then `photos/<key>` for every object of the photo store. Descriptors in the dump
//! are encrypted with `descriptor_key`, which is deliberately not in the archive (a stolen backup
//! must not give away faces); the manifest carries a fingerprint of it so a restore with
//! another key is refused before anything is written.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::process::Command;

use crate::config::Secrets;
use crate::photo_store::PhotoStore;

/// Format of the archive this server writes and reads.
pub const FORMAT: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{program}` failed: {detail}")]
    Tool { program: String, detail: String },
    #[error(
        "PostgreSQL client programs (pg_dump, pg_restore) not found in {searched}: install the \
         postgresql-client package or set FACEID_PG_BINDIR"
    )]
    ToolsMissing { searched: String },
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("photo store: {0}")]
    Photos(String),
    #[error("{0} is not a FaceID backup: {1}")]
    NotABackup(PathBuf, String),
    #[error(
        "this backup's descriptors were encrypted with another descriptor_key (fingerprint \
         {expected}, this server has {found}): set descriptor_key (FACEID_DESCRIPTOR_KEY or \
         data_dir/secrets/descriptor_key) to the key kept with the backup, then restore again"
    )]
    DescriptorKeyMismatch { expected: String, found: String },
    #[error(
        "the target database already holds {tables} tables: restore into an empty database, or \
         pass --force to replace its contents"
    )]
    NotEmpty { tables: i64 },
}

/// What the archive says about itself.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format: u32,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub server_version: String,
    /// Highest migration applied in the dumped database.
    pub schema_version: Option<i64>,
    pub photos: u64,
    /// SHA-256 fingerprint of `descriptor_key` (not the key).
    pub descriptor_key_fingerprint: String,
    /// The secrets that must be kept separately, with why.
    pub secrets_kept_elsewhere: Vec<String>,
}

/// What a finished backup or restore did.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub manifest: Manifest,
    pub bytes: u64,
}

/// A short, non-reversible fingerprint of the descriptor key.
pub fn key_fingerprint(key: &[u8; 32]) -> String {
    let mut h = Sha256::new();
    h.update(b"faceid descriptor_key fingerprint\0");
    h.update(key);
    hex::encode(&h.finalize()[..8])
}

/// Finds `pg_dump` / `pg_restore`: `FACEID_PG_BINDIR`, `PATH`, then `/usr/lib/postgresql/*/bin`
/// (newest first, since `pg_dump` must be at least the server's version).
fn tool(name: &str) -> Result<PathBuf, BackupError> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(dir) = std::env::var_os("FACEID_PG_BINDIR") {
        candidates.push(PathBuf::from(dir));
    }
    let mut debian: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter_map(|e| {
                    let v = e.file_name().to_str()?.split('.').next()?.parse().ok()?;
                    Some((v, e.path().join("bin")))
                })
                .collect()
        })
        .unwrap_or_default();
    debian.sort_by_key(|v| std::cmp::Reverse(v.0));
    candidates.extend(debian.into_iter().map(|(_, p)| p));
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path));
    }
    candidates
        .iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| BackupError::ToolsMissing {
            searched: candidates
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

async fn run_tool(program: &Path, args: &[&std::ffi::OsStr]) -> Result<(), BackupError> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|source| BackupError::Io {
            path: program.to_owned(),
            source,
        })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(BackupError::Tool {
            program: program.display().to_string(),
            detail: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes the backup of `database_url` and `photos` to `out` (through a temporary file, so a
/// failed backup never leaves a truncated archive under its name).
pub async fn backup(
    database_url: &str,
    pool: &sqlx::PgPool,
    photos: &PhotoStore,
    secrets: &Secrets,
    out: &Path,
) -> Result<Summary, BackupError> {
    let dir = out.parent().filter(|p| !p.as_os_str().is_empty());
    let work = tempfile::Builder::new()
        .prefix(".faceid-backup")
        .tempdir_in(dir.unwrap_or(Path::new(".")))
        .map_err(io(out))?;
    let dump = work.path().join("database.dump");
    let schema_version: Option<i64> =
        sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(pool)
            .await?;
    run_tool(
        &tool("pg_dump")?,
        &[
            "--format=custom".as_ref(),
            "--no-owner".as_ref(),
            "--no-privileges".as_ref(),
            "--file".as_ref(),
            dump.as_os_str(),
            "--dbname".as_ref(),
            database_url.as_ref(),
        ],
    )
    .await?;
    let keys = photos
        .list_keys()
        .await
        .map_err(|e| BackupError::Photos(e.to_string()))?;
    let manifest = Manifest {
        format: FORMAT,
        created_at: chrono::Utc::now(),
        server_version: env!("CARGO_PKG_VERSION").to_owned(),
        schema_version,
        photos: keys.len() as u64,
        descriptor_key_fingerprint: key_fingerprint(&secrets.descriptor_key),
        secrets_kept_elsewhere: vec![
            "descriptor_key: encrypts the face descriptors in database.dump; without it they \
             cannot be read (employees would have to enrol again)"
                .into(),
            "jwt_secret: signs access tokens; a new one only logs everyone out".into(),
            "tls_key, telegram_bot_token and the configuration file, if used".into(),
        ],
    };

    let part = work.path().join("archive.tar");
    let file = std::fs::File::create(&part).map_err(io(&part))?;
    let mut tar = tar::Builder::new(std::io::BufWriter::new(file));
    let manifest_json = serde_json::to_vec_pretty(&manifest).map_err(std::io::Error::other);
    append(&mut tar, "MANIFEST.json", &manifest_json.map_err(io(out))?).map_err(io(out))?;
    tar.append_path_with_name(&dump, "database.dump")
        .map_err(io(&dump))?;
    for key in &keys {
        let bytes = photos
            .get(key)
            .await
            .map_err(|e| BackupError::Photos(format!("{key}: {e}")))?;
        append(&mut tar, &format!("photos/{key}"), &bytes).map_err(io(out))?;
    }
    let mut writer = tar.into_inner().map_err(io(&part))?;
    writer.flush().map_err(io(&part))?;
    writer
        .into_inner()
        .map_err(|e| BackupError::Io {
            path: part.clone(),
            source: e.into_error(),
        })?
        .sync_all()
        .map_err(io(&part))?;
    std::fs::rename(&part, out).map_err(io(out))?;
    let bytes = std::fs::metadata(out).map_err(io(out))?.len();
    Ok(Summary { manifest, bytes })
}

fn append<W: Write>(tar: &mut tar::Builder<W>, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(0o600);
    header.set_mtime(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    );
    header.set_cksum();
    tar.append_data(&mut header, name, bytes)
}

/// Reads the manifest of a backup without restoring anything.
pub fn read_manifest(archive: &Path) -> Result<Manifest, BackupError> {
    let file = std::fs::File::open(archive).map_err(io(archive))?;
    let mut tar = tar::Archive::new(file);
    let mut entries = tar.entries().map_err(io(archive))?;
    let not_backup = |why: &str| BackupError::NotABackup(archive.to_owned(), why.to_owned());
    let mut first = entries
        .next()
        .ok_or_else(|| not_backup("empty"))?
        .map_err(|e| not_backup(&e.to_string()))?;
    let path = first.path().map_err(|e| not_backup(&e.to_string()))?;
    if path != Path::new("MANIFEST.json") {
        return Err(not_backup("MANIFEST.json is not its first entry"));
    }
    let mut text = Vec::new();
    first
        .read_to_end(&mut text)
        .map_err(|e| not_backup(&e.to_string()))?;
    let manifest: Manifest =
        serde_json::from_slice(&text).map_err(|e| not_backup(&format!("MANIFEST.json: {e}")))?;
    if manifest.format != FORMAT {
        return Err(not_backup(&format!(
            "archive format {} (this server reads format {FORMAT})",
            manifest.format
        )));
    }
    Ok(manifest)
}

/// Restores `archive` into the database at `database_url` (empty, unless `force`) and the photo
/// store; then migrations bring an older backup's schema up to this server's.
pub async fn restore(
    archive: &Path,
    database_url: &str,
    pool: &sqlx::PgPool,
    photos: &PhotoStore,
    secrets: &Secrets,
    force: bool,
) -> Result<Summary, BackupError> {
    let manifest = read_manifest(archive)?;
    let found = key_fingerprint(&secrets.descriptor_key);
    if manifest.descriptor_key_fingerprint != found {
        return Err(BackupError::DescriptorKeyMismatch {
            expected: manifest.descriptor_key_fingerprint,
            found,
        });
    }
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .fetch_one(pool)
    .await?;
    if tables > 0 && !force {
        return Err(BackupError::NotEmpty { tables });
    }
    let pg_restore = tool("pg_restore")?;

    let work = tempfile::tempdir().map_err(io(archive))?;
    let dump = work.path().join("database.dump");
    let mut photo_entries = Vec::new();
    {
        let file = std::fs::File::open(archive).map_err(io(archive))?;
        let mut tar = tar::Archive::new(file);
        let not_backup =
            |e: std::io::Error| BackupError::NotABackup(archive.to_owned(), e.to_string());
        let mut saw_dump = false;
        for entry in tar.entries().map_err(not_backup)? {
            let mut entry = entry.map_err(not_backup)?;
            let name = entry.path().map_err(not_backup)?.into_owned();
            if name == Path::new("database.dump") {
                let mut out = std::fs::File::create(&dump).map_err(io(&dump))?;
                std::io::copy(&mut entry, &mut out).map_err(not_backup)?;
                saw_dump = true;
            } else if let Ok(key) = name.strip_prefix("photos") {
                let key = key.to_string_lossy().into_owned();
                // Keys are ours (`prefix/hex.img`); refuse anything that climbs out.
                if key.split('/').any(|c| c == ".." || c.is_empty()) {
                    return Err(BackupError::NotABackup(
                        archive.to_owned(),
                        format!("unsafe photo name {key:?}"),
                    ));
                }
                let mut bytes = Vec::new();
                entry.read_to_end(&mut bytes).map_err(not_backup)?;
                photo_entries.push((key, bytes));
            }
        }
        if !saw_dump {
            return Err(BackupError::NotABackup(
                archive.to_owned(),
                "no database.dump".into(),
            ));
        }
    }

    let mut args: Vec<&std::ffi::OsStr> = vec![
        "--no-owner".as_ref(),
        "--no-privileges".as_ref(),
        "--exit-on-error".as_ref(),
        "--single-transaction".as_ref(),
    ];
    args.extend([
        OsStr::new("--dbname"),
        OsStr::new(database_url),
        dump.as_os_str(),
    ]);
    // With --force the current schema is set aside until the restore has succeeded, so a failed
    // restore loses nothing (pg_restore --clean cannot drop the partitions' inherited keys).
    let set_aside = if tables > 0 {
        let name = format!(
            "faceid_before_restore_{}",
            chrono::Utc::now().format("%Y%m%d%H%M%S")
        );
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "ALTER SCHEMA public RENAME TO {name}; CREATE SCHEMA public;"
        )))
        .execute(pool)
        .await?;
        Some(name)
    } else {
        None
    };
    let restored = run_tool(&pg_restore, &args).await;
    match (&restored, &set_aside) {
        (Err(_), Some(name)) => {
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP SCHEMA public CASCADE; ALTER SCHEMA {name} RENAME TO public;"
            )))
            .execute(pool)
            .await?;
        }
        (Ok(_), Some(name)) => {
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA {name} CASCADE")))
                .execute(pool)
                .await?;
        }
        _ => {}
    }
    restored?;
    crate::db::migrate(pool)
        .await
        .map_err(|e| BackupError::Tool {
            program: "migrations".into(),
            detail: e.to_string(),
        })?;
    for (key, bytes) in photo_entries {
        photos
            .put_at(&key, bytes)
            .await
            .map_err(|e| BackupError::Photos(format!("{key}: {e}")))?;
    }
    let bytes = std::fs::metadata(archive).map_err(io(archive))?.len();
    Ok(Summary { manifest, bytes })
}
