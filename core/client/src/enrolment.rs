//! The employee's own face enrolment: 1–5 photos queued in the outbox (works offline); the
//! sync posts them as one multipart request to `/api/v1/me/face-templates`. A refusal (no face,
//! liveness, a possible duplicate, no biometric consent) becomes a dead letter with the server's
//! reason.

use chrono::{DateTime, Utc};
use faceid_face::decode::sniff_format;
use faceid_protocol::face::{MAX_ENROL_PHOTOS, PHOTO_PART};
use uuid::Uuid;

use crate::outbox::{Blob, EntryKind, NewEntry, Outbox, OutboxError};

/// Most bytes of all photos together; the server refuses bodies over 32 MiB.
pub const MAX_ENROL_BYTES: usize = 30 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum EnrolmentError {
    #[error("1 to {MAX_ENROL_PHOTOS} photos are needed, got {0}")]
    PhotoCount(usize),
    #[error("photo {index}: {reason}")]
    BadPhoto { index: usize, reason: String },
    #[error("the photos are {0} bytes together, more than {MAX_ENROL_BYTES}")]
    TooLarge(usize),
    #[error(transparent)]
    Outbox(#[from] OutboxError),
}

/// The outbox entry of an enrolment: each photo a `photo` part with its sniffed content type.
/// Only JPEG, PNG and WebP are accepted (the server decodes the same three).
pub fn enrolment_entry(photos: Vec<Vec<u8>>) -> Result<NewEntry, EnrolmentError> {
    if photos.is_empty() || photos.len() > MAX_ENROL_PHOTOS {
        return Err(EnrolmentError::PhotoCount(photos.len()));
    }
    let total: usize = photos.iter().map(Vec::len).sum();
    if total > MAX_ENROL_BYTES {
        return Err(EnrolmentError::TooLarge(total));
    }
    let blobs = photos
        .into_iter()
        .enumerate()
        .map(|(index, data)| {
            let format = sniff_format(&data).map_err(|e| EnrolmentError::BadPhoto {
                index,
                reason: e.to_string(),
            })?;
            Ok(Blob {
                name: PHOTO_PART.to_owned(),
                content_type: format.to_mime_type().to_owned(),
                data,
            })
        })
        .collect::<Result<Vec<_>, EnrolmentError>>()?;
    Ok(NewEntry {
        idempotency_key: Uuid::now_v7(),
        kind: EntryKind::Enrolment,
        // Sent as multipart photos only; the payload is not used.
        payload: "{}".to_owned(),
        blobs,
    })
}

/// Queue an enrolment for the next sync; returns its idempotency key.
pub fn queue_enrolment(
    outbox: &Outbox,
    photos: Vec<Vec<u8>>,
    now: DateTime<Utc>,
) -> Result<Uuid, EnrolmentError> {
    let entry = enrolment_entry(photos)?;
    outbox.enqueue(&entry, now)?;
    tracing::info!(key = %entry.idempotency_key, photos = entry.blobs.len(), "enrolment queued");
    Ok(entry.idempotency_key)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The smallest PNG and JPEG signatures `image::guess_format` recognises.
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    const JPEG: &[u8] = b"\xFF\xD8\xFF\xE0\0\x10JFIF\0";

    #[test]
    fn photos_become_typed_parts() {
        let e = enrolment_entry(vec![JPEG.to_vec(), PNG.to_vec()]).expect("entry");
        assert_eq!(e.kind, EntryKind::Enrolment);
        assert_eq!(e.idempotency_key.get_version_num(), 7);
        let types: Vec<_> = e.blobs.iter().map(|b| b.content_type.as_str()).collect();
        assert_eq!(types, ["image/jpeg", "image/png"]);
        assert!(e.blobs.iter().all(|b| b.name == PHOTO_PART));
    }

    #[test]
    fn refuses_bad_counts_and_non_images() {
        assert!(matches!(
            enrolment_entry(Vec::new()),
            Err(EnrolmentError::PhotoCount(0))
        ));
        assert!(matches!(
            enrolment_entry(vec![JPEG.to_vec(); 6]),
            Err(EnrolmentError::PhotoCount(6))
        ));
        assert!(matches!(
            enrolment_entry(vec![JPEG.to_vec(), b"GIF89a....".to_vec()]),
            Err(EnrolmentError::BadPhoto { index: 1, .. })
        ));
        assert!(matches!(
            enrolment_entry(vec![vec![0xFF; MAX_ENROL_BYTES + 1]]),
            Err(EnrolmentError::TooLarge(_))
        ));
    }

    #[test]
    fn queued_with_its_photos() {
        let dir = tempfile::tempdir().expect("tmp");
        let outbox = Outbox::open_in(dir.path(), Uuid::now_v7()).expect("outbox");
        let key = queue_enrolment(&outbox, vec![JPEG.to_vec()], Utc::now()).expect("queued");
        assert_eq!(outbox.stats().expect("stats").enrolment, 1);
        let claimed = outbox
            .claim_next(Utc::now(), crate::outbox::DEFAULT_LEASE)
            .expect("claim")
            .expect("an entry");
        assert_eq!(claimed.idempotency_key, key);
        assert_eq!(claimed.blobs.len(), 1);
        assert_eq!(claimed.blobs[0].data, JPEG);
    }
}
