//! The server address an employee types on the first screen.

use crate::FaceIdError;

/// Normalises a server address typed by a person: adds `https://` when no scheme is given,
/// drops a trailing slash, and refuses anything that is not an http(s) URL with a host.
/// Plain `http://` is accepted only for loopback and private test setups the admin chose.
#[uniffi::export]
pub fn normalize_server_url(input: String) -> Result<String, FaceIdError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(invalid("the server address is empty"));
    }
    let with_scheme = if trimmed.contains("://") {
        trimmed.to_owned()
    } else {
        format!("https://{trimmed}")
    };
    let url = url::Url::parse(&with_scheme)
        .map_err(|e| invalid(&format!("not a valid server address: {e}")))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(invalid("the server address must start with https://"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("the server address has no host name"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("the server address must not contain ? or #"));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

fn invalid(reason: &str) -> FaceIdError {
    FaceIdError::InvalidInput {
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_https_and_drops_trailing_slash() {
        assert_eq!(
            normalize_server_url(" faceid.example.com/ ".into()).unwrap(),
            "https://faceid.example.com"
        );
        assert_eq!(
            normalize_server_url("http://127.0.0.1:8080/".into()).unwrap(),
            "http://127.0.0.1:8080"
        );
    }

    #[test]
    fn refuses_garbage_with_a_reason() {
        for bad in [
            "",
            "   ",
            "ftp://x",
            "https://",
            "https://a.b/?q=1",
            "http://exa mple",
        ] {
            assert!(
                matches!(
                    normalize_server_url(bad.into()),
                    Err(FaceIdError::InvalidInput { .. })
                ),
                "{bad:?} accepted"
            );
        }
    }
}
