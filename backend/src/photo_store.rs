//! The photo store (`object_store`): a local directory by default, S3-compatible when
//! `photo_store_url` is configured. Enrolment photos and check-in evidence live here.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt};
use tokio::sync::OnceCell;

use crate::error::AppError;

/// The photo store: created on first use (so a server that never stores a photo creates no
/// directory).
pub struct PhotoStore {
    config: StoreConfig,
    store: OnceCell<Arc<dyn ObjectStore>>,
}

enum StoreConfig {
    LocalDir(PathBuf),
    Url(String),
}

impl PhotoStore {
    pub fn new(url: Option<&str>, data_dir: &Path) -> Self {
        let config = match url {
            None => StoreConfig::LocalDir(data_dir.join("photos")),
            Some(u) => StoreConfig::Url(u.to_owned()),
        };
        Self {
            config,
            store: OnceCell::new(),
        }
    }

    async fn store(&self) -> Result<&Arc<dyn ObjectStore>, AppError> {
        self.store
            .get_or_try_init(|| async {
                let store: Arc<dyn ObjectStore> = match &self.config {
                    StoreConfig::LocalDir(dir) => local(dir)?,
                    StoreConfig::Url(u) if u == "memory:" => {
                        Arc::new(object_store::memory::InMemory::new())
                    }
                    StoreConfig::Url(u) => {
                        if let Some(path) = u.strip_prefix("file://") {
                            local(Path::new(path))?
                        } else {
                            remote(u)?
                        }
                    }
                };
                Ok::<_, AppError>(store)
            })
            .await
    }

    /// Stores bytes under a new random key and returns the key.
    pub async fn put(&self, prefix: &str, bytes: Vec<u8>) -> Result<String, AppError> {
        let mut r = [0u8; 16];
        rand::fill(&mut r);
        let key = format!("{prefix}/{}.img", hex::encode(r));
        self.store()
            .await?
            .put(&StorePath::from(key.as_str()), bytes.into())
            .await
            .map_err(|e| AppError::internal(format!("photo store: {e}")))?;
        Ok(key)
    }

    pub async fn get(&self, key: &str) -> Result<Vec<u8>, AppError> {
        let got = self
            .store()
            .await?
            .get(&StorePath::from(key))
            .await
            .map_err(|e| match e {
                object_store::Error::NotFound { .. } => AppError::not_found("photo"),
                e => AppError::internal(format!("photo store: {e}")),
            })?;
        Ok(got
            .bytes()
            .await
            .map_err(|e| AppError::internal(format!("photo store: {e}")))?
            .to_vec())
    }

    /// Deletes one photo, answering failures (erasure and retention must know); an absent
    /// photo counts as deleted.
    pub async fn delete(&self, key: &str) -> Result<(), AppError> {
        match self.store().await?.delete(&StorePath::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(AppError::internal(format!("photo store: {e}"))),
        }
    }

    /// Stores bytes under a given key (a restore puts photos back where they were).
    pub async fn put_at(&self, key: &str, bytes: Vec<u8>) -> Result<(), AppError> {
        self.store()
            .await?
            .put(&StorePath::from(key), bytes.into())
            .await
            .map_err(|e| AppError::internal(format!("photo store: {e}")))?;
        Ok(())
    }

    /// Every key in the store, sorted.
    pub async fn list_keys(&self) -> Result<Vec<String>, AppError> {
        use futures_util::TryStreamExt;
        let mut keys: Vec<String> = self
            .store()
            .await?
            .list(None)
            .map_ok(|meta| meta.location.to_string())
            .try_collect()
            .await
            .map_err(|e| AppError::internal(format!("photo store: {e}")))?;
        keys.sort();
        Ok(keys)
    }

    /// Deletes photos; failures are logged (a stray photo is not worth failing a request).
    pub async fn delete_all(&self, keys: &[String]) {
        let Ok(store) = self.store().await else {
            return;
        };
        for k in keys {
            if let Err(e) = store.delete(&StorePath::from(k.as_str())).await
                && !matches!(e, object_store::Error::NotFound { .. })
            {
                tracing::warn!(key = %k, error = %e, "could not delete a photo");
            }
        }
    }
}

fn local(dir: &Path) -> Result<Arc<dyn ObjectStore>, AppError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| AppError::internal(format!("photo directory {}: {e}", dir.display())))?;
    let fs = object_store::local::LocalFileSystem::new_with_prefix(dir)
        .map_err(|e| AppError::internal(format!("photo directory {}: {e}", dir.display())))?;
    Ok(Arc::new(fs))
}

#[cfg(feature = "s3")]
fn remote(url: &str) -> Result<Arc<dyn ObjectStore>, AppError> {
    let s3 = object_store::aws::AmazonS3Builder::from_env()
        .with_url(url)
        .build()
        .map_err(|e| AppError::internal(format!("photo_store_url: {e}")))?;
    Ok(Arc::new(s3))
}

#[cfg(not(feature = "s3"))]
fn remote(url: &str) -> Result<Arc<dyn ObjectStore>, AppError> {
    Err(AppError::internal(format!(
        "photo_store_url {url:?}: this server was built without the `s3` feature"
    )))
}
