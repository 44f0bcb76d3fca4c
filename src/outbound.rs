//! Outbound HTTP: small documents fetched with a size cap (address detection, the release feed,
//! signatures), and reqwest errors worded without the URL they repeat.

/// The body of a successful GET of `url`, refused past `max_bytes` without reading the rest.
/// The error says why, for a message that names the URL once.
pub async fn get_capped(
    http: &reqwest::Client,
    url: &str,
    max_bytes: usize,
) -> Result<Vec<u8>, String> {
    let mut response = http.get(url).send().await.map_err(describe)?;
    if !response.status().is_success() {
        return Err(format!("it answered HTTP {}", response.status()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(describe)? {
        if body.len() + chunk.len() > max_bytes {
            return Err(format!("the answer is larger than {max_bytes} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// reqwest's message and its causes, without the URL.
pub fn describe(err: reqwest::Error) -> String {
    let err = err.without_url();
    let mut message = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        message = format!("{message}: {cause}");
        source = cause.source();
    }
    message
}

/// A URL as messages may show it: no credentials, no query (either may hold a secret).
pub fn redact(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) => {
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.set_query(None);
            parsed.set_fragment(None);
            parsed.to_string()
        }
        Err(_) => "(an invalid URL)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacted_urls_keep_no_credentials_or_query() {
        assert_eq!(
            redact("https://user:pw@feed.example.com/f.json?token=abc#x"),
            "https://feed.example.com/f.json"
        );
        assert_eq!(
            redact("http://127.0.0.1:8080/ip"),
            "http://127.0.0.1:8080/ip"
        );
        assert_eq!(redact("not a url"), "(an invalid URL)");
    }
}
