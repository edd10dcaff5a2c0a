//! The server's use of the face engine (`core/face`): photo analysis for enrolment and
//! re-verification, descriptor encryption at rest (AES-256-GCM) and the photo store
//! (`object_store`: a local directory by default, S3-compatible when configured).
//!
//! The engine is loaded once at startup and shared (`Arc`); every inference runs in
//! `spawn_blocking`. Without models the server still starts and face endpoints answer 503
//! `face_engine_unavailable`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, KeyInit, Payload};

type GcmNonce = aes_gcm::aead::Nonce<Aes256Gcm>;
use faceid_face::decode::DecodeError;
use faceid_face::{Descriptor, Engine, MeasureError, MeasureRules, Measurement, ModelId};
use faceid_protocol::problem::FieldError;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt};
use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::AppState;
use crate::error::AppError;

/// Largest photo part accepted, in bytes (the decode limit of the engine is 25 MB; one
/// enrolment photo or evidence frame never needs more than this).
pub const MAX_PHOTO_BYTES: usize = faceid_face::measure::MAX_FRAME_BYTES;
/// Largest body of the photo endpoints (enrolment, check-in, kiosk): larger uploads are 413
/// `payload_too_large` before they are read.
pub const MAX_PHOTO_BODY_BYTES: usize = 32 * 1024 * 1024;
/// Most photos in one enrolment.
pub const MAX_ENROL_PHOTOS: usize = 5;

/// The face engine, when its models could be loaded.
#[derive(Clone, Default)]
pub struct FaceEngine(Option<Arc<Engine>>);

impl FaceEngine {
    pub fn new(engine: Option<Arc<Engine>>) -> Self {
        Self(engine)
    }

    /// Loads the models from `dir` (or the default location). `None` (with a warning) when
    /// they are missing or broken.
    pub fn load(dir: Option<&Path>) -> Self {
        let dir: Option<PathBuf> = dir
            .map(Path::to_owned)
            .or_else(faceid_face::model::default_model_dir);
        let Some(dir) = dir else {
            tracing::warn!("no face model directory: face endpoints will answer 503");
            return Self(None);
        };
        match Self::try_load(&dir) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "face engine not loaded: face endpoints will answer 503");
                Self(None)
            }
        }
    }

    /// Loads the models from `dir`, each checked against the manifest's size and SHA-256.
    pub fn try_load(dir: &Path) -> Result<Self, faceid_face::EngineError> {
        Engine::load(&faceid_face::EngineConfig::new(dir)).map(|e| Self(Some(Arc::new(e))))
    }

    pub fn get(&self) -> Result<Arc<Engine>, AppError> {
        self.0.clone().ok_or_else(|| AppError::ServiceUnavailable {
            code: "face_engine_unavailable",
            detail: "the face models are not installed on this server (models/fetch.sh)".into(),
        })
    }
}

/// One part of a multipart body.
pub struct Part {
    pub name: String,
    pub bytes: axum::body::Bytes,
}

/// Reads every part of a multipart body (at most `max_parts`).
pub async fn read_parts(
    mp: &mut axum::extract::Multipart,
    max_parts: usize,
) -> Result<Vec<Part>, AppError> {
    let mut parts = Vec::new();
    loop {
        let field = mp.next_field().await.map_err(multipart_error)?;
        let Some(field) = field else { break };
        if parts.len() == max_parts {
            return Err(AppError::bad_request(
                "too_many_parts",
                format!("at most {max_parts} parts are accepted"),
            ));
        }
        let name = field.name().unwrap_or("").to_owned();
        let bytes = field.bytes().await.map_err(multipart_error)?;
        parts.push(Part { name, bytes });
    }
    Ok(parts)
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> AppError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        AppError::PayloadTooLarge
    } else {
        AppError::bad_request("invalid_multipart", e.body_text())
    }
}

/// Runs engine work off the async threads.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(AppError::internal)?
}

/// Frames announcing more pixels than this (in their header) are decoded only in one of the
/// few large-decode slots (`large_decode_slots`); a phone's check-in frames are far smaller.
pub const LARGE_FRAME_PIXELS: u64 = 4_000_000;

/// Runs the measurement of `frames` off the async threads. When one of them announces more
/// than [`LARGE_FRAME_PIXELS`], it first waits for a large-decode slot, so parallel uploads of
/// big photos cannot add up their decode buffers (six parallel enrolments of 40 MP PNGs took
/// the server to 5.6 GB) while ordinary check-ins pass without waiting. Then it waits its
/// turn at the engine ([`crate::face_queue`]), or is refused with 503 `server_busy` when that
/// queue is too long.
pub async fn measure_blocking<T: Send + 'static>(
    state: &AppState,
    frames: &[&[u8]],
    f: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    let _slot = large_decode_slot(state, frames).await?;
    let turn = state.face_queue.turn().await?;
    let result = blocking(f).await;
    state.face_queue.done(turn);
    result
}

/// One of the few large-decode slots when any of `frames` announces more than
/// [`LARGE_FRAME_PIXELS`]; `None` (no waiting) otherwise. Held while decoding.
pub async fn large_decode_slot<'a>(
    state: &'a AppState,
    frames: &[&[u8]],
) -> Result<Option<tokio::sync::SemaphorePermit<'a>>, AppError> {
    if frames
        .iter()
        .any(|b| announced_pixels(b) > LARGE_FRAME_PIXELS)
    {
        let slot = state
            .large_decodes
            .acquire()
            .await
            .map_err(AppError::internal)?;
        Ok(Some(slot))
    } else {
        Ok(None)
    }
}

/// Pixels a frame's header announces; 0 when the header is refused (the measurement refuses
/// it before decoding anything).
fn announced_pixels(bytes: &[u8]) -> u64 {
    faceid_face::decode::probe(bytes, &MeasureRules::enrol().decode)
        .map_or(0, |(_, w, h)| u64::from(w) * u64::from(h))
}

/// The stable code of a decode failure.
pub fn decode_code(e: &DecodeError) -> &'static str {
    match e {
        DecodeError::Empty | DecodeError::UnsupportedFormat { .. } => "not_an_image",
        DecodeError::TooLarge { .. } => "image_too_large",
        DecodeError::SideTooLong { .. }
        | DecodeError::TooManyPixels { .. }
        | DecodeError::MemoryLimit { .. } => "image_dimensions_too_large",
        DecodeError::ZeroSize { .. } | DecodeError::Corrupt { .. } => "image_corrupt",
        DecodeError::Truncated { .. } => "image_truncated",
        DecodeError::InvalidFrame { .. } | DecodeError::Io { .. } => "image_corrupt",
    }
}

/// Why one photo cannot be used.
#[derive(Debug, Clone, PartialEq)]
pub struct PhotoRefusal {
    pub code: &'static str,
    pub message: String,
}

impl PhotoRefusal {
    pub fn field(&self, field: String) -> FieldError {
        FieldError {
            field,
            code: self.code.to_owned(),
            message: self.message.clone(),
        }
    }
}

/// Measures one photo with the shared check-in measurement ([`faceid_face::measure`], the
/// function and rules the phone runs on the same upload): exactly one face, quality, passive
/// liveness, descriptor. `Err` for what makes the photo unusable (not an image, no face,
/// several faces).
pub fn analyse(
    engine: &Engine,
    bytes: &[u8],
    rules: &MeasureRules,
) -> Result<Measurement, PhotoRefusal> {
    faceid_face::measure(engine, bytes, &[], None, rules).map_err(|e| refusal(&e))
}

/// The refusal of an unusable frame.
pub fn refusal(e: &MeasureError) -> PhotoRefusal {
    let code = match e {
        MeasureError::Decode { source, .. } => decode_code(source),
        MeasureError::NoFace { .. } => "no_face",
        MeasureError::SeveralFaces { .. } => "several_faces",
        MeasureError::Engine(_) => "face_engine_error",
    };
    let message = match e {
        MeasureError::Decode { source, .. } => source.to_string(),
        MeasureError::NoFace { .. } => "no face found".to_owned(),
        MeasureError::SeveralFaces { count, .. } => format!("{count} faces found, one needed"),
        MeasureError::Engine(e) => e.to_string(),
    };
    PhotoRefusal { code, message }
}

/// AES-256-GCM encryption of descriptors, bound to their template row.
#[derive(Clone)]
pub struct DescriptorCipher(Aes256Gcm);

impl DescriptorCipher {
    pub fn new(key: &[u8; 32]) -> Self {
        Self(Aes256Gcm::new(key.into()))
    }

    fn aad(template: Uuid, employee: Uuid, model: &str) -> Vec<u8> {
        let mut aad = Vec::with_capacity(32 + model.len());
        aad.extend_from_slice(template.as_bytes());
        aad.extend_from_slice(employee.as_bytes());
        aad.extend_from_slice(model.as_bytes());
        aad
    }

    /// (ciphertext, nonce). The template id, employee id and model id are authenticated data,
    /// so a ciphertext moved to another row does not decrypt.
    pub fn seal(
        &self,
        template: Uuid,
        employee: Uuid,
        d: &Descriptor,
    ) -> Result<(Vec<u8>, Vec<u8>), AppError> {
        let mut nonce = [0u8; 12];
        rand::fill(&mut nonce);
        let plain: Vec<u8> = d.values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let ct = self
            .0
            .encrypt(
                &GcmNonce::from(nonce),
                Payload {
                    msg: &plain,
                    aad: &Self::aad(template, employee, &d.model.0),
                },
            )
            .map_err(|_| AppError::internal("descriptor encryption failed"))?;
        Ok((ct, nonce.to_vec()))
    }

    /// Encrypts another secret at rest with the same key (a terminal's password): (ciphertext,
    /// nonce), `aad` binding it to its row.
    pub fn seal_secret(&self, aad: &[u8], plain: &[u8]) -> Result<(Vec<u8>, Vec<u8>), AppError> {
        let mut nonce = [0u8; 12];
        rand::fill(&mut nonce);
        let ct = self
            .0
            .encrypt(&GcmNonce::from(nonce), Payload { msg: plain, aad })
            .map_err(|_| AppError::internal("secret encryption failed"))?;
        Ok((ct, nonce.to_vec()))
    }

    /// Decrypts what [`DescriptorCipher::seal_secret`] sealed with the same `aad`.
    pub fn open_secret(&self, aad: &[u8], ct: &[u8], nonce: &[u8]) -> Result<Vec<u8>, AppError> {
        let nonce: [u8; 12] = nonce
            .try_into()
            .map_err(|_| AppError::internal("secret nonce of the wrong length"))?;
        self.0
            .decrypt(&GcmNonce::from(nonce), Payload { msg: ct, aad })
            .map_err(|_| {
                AppError::internal(
                    "a stored secret does not decrypt with the configured descriptor_key",
                )
            })
    }

    pub fn open(
        &self,
        template: Uuid,
        employee: Uuid,
        model: &str,
        ct: &[u8],
        nonce: &[u8],
    ) -> Result<Descriptor, AppError> {
        let nonce: [u8; 12] = nonce
            .try_into()
            .map_err(|_| AppError::internal("descriptor nonce of the wrong length"))?;
        let plain = self
            .0
            .decrypt(
                &GcmNonce::from(nonce),
                Payload {
                    msg: ct,
                    aad: &Self::aad(template, employee, model),
                },
            )
            .map_err(|_| {
                AppError::internal(format!(
                    "face template {template} does not decrypt with the configured descriptor_key"
                ))
            })?;
        let values = plain
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Ok(Descriptor {
            model: ModelId(model.to_owned()),
            values,
        })
    }
}

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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn measurements_take_turns_at_the_engine_in_arrival_order() {
        let pool = sqlx::PgPool::connect_lazy("postgres://unused@127.0.0.1/unused").unwrap();
        let settings = crate::Settings {
            face_workers: 2,
            ..crate::Settings::default()
        };
        let secrets = crate::Secrets {
            jwt_secret: vec![7; 32],
            descriptor_key: [7; 32],
        };
        let state = AppState::new(pool, settings, secrets).unwrap();
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        // `join_all` polls the futures in index order: each joins the queue in that order.
        let measurements = (0..8).map(|i| {
            let (running, most, order) = (running.clone(), most.clone(), order.clone());
            measure_blocking(&state, &[], move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                order.lock().unwrap().push(i);
                std::thread::sleep(std::time::Duration::from_millis(30));
                running.fetch_sub(1, Ordering::SeqCst);
                Ok(())
            })
        });
        for r in futures_util::future::join_all(measurements).await {
            r.unwrap();
        }
        let most = most.load(Ordering::SeqCst);
        assert!(
            most <= 2,
            "{most} measurements at once with face_workers = 2"
        );
        let order = order.lock().unwrap().clone();
        // The first two start together; after them, each starts in the order it arrived.
        assert_eq!(&order[2..], &[2, 3, 4, 5, 6, 7], "{order:?}");
    }
}
