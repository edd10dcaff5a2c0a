//! Where tokens live: a [`SecureStore`] supplied by the platform (Android Keystore, iOS
//! Keychain). The core ships a file store for the CLI and desktop (mode 0600, atomic replace)
//! and an in-memory store for tests.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("secure store I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid secure-store key {0:?} (letters, digits, '.', '-', '_' only)")]
    InvalidKey(String),
    #[error("secure store unavailable: {0}")]
    Unavailable(String),
}

/// A small secret key/value store. Implementations must be safe to call from any thread.
pub trait SecureStore: Send + Sync + std::fmt::Debug {
    fn load(&self, key: &str) -> Result<Option<String>, StoreError>;
    fn save(&self, key: &str, value: &str) -> Result<(), StoreError>;
    fn delete(&self, key: &str) -> Result<(), StoreError>;
}

fn check_key(key: &str) -> Result<(), StoreError> {
    let ok = !key.is_empty()
        && key.len() <= 128
        && !key.starts_with('.')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidKey(key.to_owned()))
    }
}

/// Secrets in memory; for tests.
#[derive(Debug, Default)]
pub struct MemoryStore {
    map: Mutex<HashMap<String, String>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }
}

impl SecureStore for MemoryStore {
    fn load(&self, key: &str) -> Result<Option<String>, StoreError> {
        check_key(key)?;
        let map = self
            .map
            .lock()
            .map_err(|_| StoreError::Unavailable("lock poisoned".into()))?;
        Ok(map.get(key).cloned())
    }

    fn save(&self, key: &str, value: &str) -> Result<(), StoreError> {
        check_key(key)?;
        let mut map = self
            .map
            .lock()
            .map_err(|_| StoreError::Unavailable("lock poisoned".into()))?;
        map.insert(key.to_owned(), value.to_owned());
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        check_key(key)?;
        let mut map = self
            .map
            .lock()
            .map_err(|_| StoreError::Unavailable("lock poisoned".into()))?;
        map.remove(key);
        Ok(())
    }
}

/// One file per key in a directory, created with mode 0600 (the directory 0700) and replaced
/// atomically (write to a temporary file, fsync, rename), so a crash leaves the old or the new
/// value, never half of one. For the CLI and desktop, where no platform keystore is at hand.
#[derive(Debug)]
pub struct FileStore {
    dir: PathBuf,
}

impl FileStore {
    pub fn new(dir: &Path) -> Result<Self, StoreError> {
        let io = |source| StoreError::Io {
            path: dir.to_owned(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io)?;
        }
        Ok(Self {
            dir: dir.to_owned(),
        })
    }

    fn path(&self, key: &str) -> Result<PathBuf, StoreError> {
        check_key(key)?;
        Ok(self.dir.join(key))
    }
}

impl SecureStore for FileStore {
    fn load(&self, key: &str) -> Result<Option<String>, StoreError> {
        let path = self.path(key)?;
        match std::fs::read_to_string(&path) {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StoreError::Io { path, source }),
        }
    }

    fn save(&self, key: &str, value: &str) -> Result<(), StoreError> {
        let path = self.path(key)?;
        let tmp = self.dir.join(format!(".{key}.tmp"));
        let io = |source| StoreError::Io {
            path: tmp.clone(),
            source,
        };
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp).map_err(io)?;
        #[cfg(unix)]
        {
            // `mode` applies only at creation; a leftover temp file keeps its old mode.
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(io)?;
        }
        f.write_all(value.as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)?;
        drop(f);
        std::fs::rename(&tmp, &path).map_err(|source| StoreError::Io {
            path: path.clone(),
            source,
        })?;
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        let path = self.path(key)?;
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(StoreError::Io { path, source }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exercise(store: &dyn SecureStore) {
        assert_eq!(store.load("session").expect("load"), None);
        store.save("session", "one").expect("save");
        store.save("session", "two").expect("replace");
        assert_eq!(store.load("session").expect("load").as_deref(), Some("two"));
        store.delete("session").expect("delete");
        store.delete("session").expect("delete twice");
        assert_eq!(store.load("session").expect("load"), None);
        for bad in ["", "../x", "a/b", ".hidden", "naïve"] {
            assert!(matches!(
                store.save(bad, "v"),
                Err(StoreError::InvalidKey(_))
            ));
        }
    }

    #[test]
    fn memory_store_behaves() {
        exercise(&MemoryStore::new());
    }

    #[test]
    fn file_store_behaves_and_is_private() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FileStore::new(&dir.path().join("secrets")).expect("store");
        exercise(&store);
        store.save("session", "secret").expect("save");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("secrets/session"))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
            let dmode = std::fs::metadata(dir.path().join("secrets"))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(dmode & 0o777, 0o700);
        }
        // A second store over the same directory sees the value (survives restart).
        let again = FileStore::new(&dir.path().join("secrets")).expect("store");
        assert_eq!(
            again.load("session").expect("load").as_deref(),
            Some("secret")
        );
    }
}
