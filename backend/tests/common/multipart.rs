//! `multipart/form-data` bodies, shared by the tests and the attendance bench.

pub const BOUNDARY: &str = "faceid-test-boundary-7d1f";

/// The `Content-Type` of a body made by [`multipart`].
pub fn content_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

/// A multipart body: (part name, bytes, content type).
pub fn multipart<B: AsRef<[u8]>>(parts: &[(&str, B, &str)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (i, (name, bytes, ct)) in parts.iter().enumerate() {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        body.extend_from_slice(
            format!(
                "Content-Disposition: form-data; name=\"{name}\"; filename=\"p{i}\"\r\nContent-Type: {ct}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes.as_ref());
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}
