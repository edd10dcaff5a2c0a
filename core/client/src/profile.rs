//! The employee's own profile photo (issue 23 §6): read, upload (the server re-encodes it to a
//! JPEG of at most 512 px without metadata) and remove. `photo_updated_at` of the current user
//! says whether there is one and serves as a cache-buster.

use chrono::{DateTime, Utc};
use faceid_protocol::error_code::ErrorCode;
pub use faceid_protocol::profile::{MY_PHOTO_PATH, ProfilePhotoSet};
use reqwest::multipart::{Form, Part};

use crate::session::{Session, SessionError};

/// Largest photo sent, in bytes (the server refuses bigger bodies).
pub const MAX_PHOTO_BYTES: usize = 10 * 1024 * 1024;

/// The photo as the server keeps it (JPEG); `None` when there is none (404 `no_photo`).
pub async fn my_photo(session: &Session) -> Result<Option<Vec<u8>>, SessionError> {
    match session.get_bytes(MY_PHOTO_PATH).await {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.error_code() == Some(ErrorCode::NoPhoto) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Uploads a JPEG or PNG as the profile photo; answers when it was set.
pub async fn set_my_photo(session: &Session, image: &[u8]) -> Result<DateTime<Utc>, SessionError> {
    let mime = match image {
        [0xFF, 0xD8, ..] => "image/jpeg",
        [0x89, b'P', b'N', b'G', ..] => "image/png",
        _ => return Err(SessionError::Invalid("the photo is not a JPEG or PNG")),
    };
    if image.len() > MAX_PHOTO_BYTES {
        return Err(SessionError::Invalid("the photo is larger than 10 MiB"));
    }
    let resp = session
        .send_authorised(reqwest::Method::PUT, MY_PHOTO_PATH, |req| {
            let part = Part::bytes(image.to_vec()).file_name("photo");
            match part.mime_str(mime) {
                Ok(part) => req.multipart(Form::new().part("photo", part)),
                Err(_) => req,
            }
        })
        .await?;
    if !resp.status().is_success() {
        return Err(Session::refusal_of(resp).await);
    }
    let answer = crate::http::read_answer(resp)
        .await
        .map_err(|e| SessionError::Network(e.to_string()))?;
    let set: ProfilePhotoSet =
        serde_json::from_str(&answer.body).map_err(|e| SessionError::Decode(e.to_string()))?;
    Ok(set.photo_updated_at)
}

/// Removes the profile photo.
pub async fn delete_my_photo(session: &Session) -> Result<(), SessionError> {
    session
        .call_empty(reqwest::Method::DELETE, MY_PHOTO_PATH, None::<&()>)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_servers_answer_to_an_upload() {
        let set: ProfilePhotoSet =
            serde_json::from_str(r#"{"photo_updated_at":"2026-12-07T01:16:13Z"}"#).expect("set");
        assert_eq!(
            set.photo_updated_at.to_rfc3339(),
            "2026-12-07T01:16:13+00:00"
        );
    }
}
