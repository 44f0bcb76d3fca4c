//! Outbound HTTP: the [`Guard`] that keeps addresses named by remote content off internal hosts,
//! small documents fetched with a size cap (address detection, the release feed, signatures),
//! and errors worded in general terms.

mod guard;

pub use guard::{Guard, Refused, is_public, same_origin_redirects};

/// An HTTP client whose every URL passes its [`Guard`] first; names are checked again when
/// they are resolved, and redirects stay on the scheme, host and port they started from.
#[derive(Debug, Clone)]
pub struct Guarded {
    client: reqwest::Client,
    guard: Guard,
}

impl Guarded {
    pub fn new(builder: reqwest::ClientBuilder, guard: Guard) -> reqwest::Result<Self> {
        let client = builder
            .user_agent(concat!("boxd/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(guard.clone())
            .redirect(same_origin_redirects(guard.clone()))
            .build()?;
        Ok(Self { client, guard })
    }

    /// A request to `url`, if the guard lets it through; the error says why not.
    pub fn request(
        &self,
        method: reqwest::Method,
        url: &str,
    ) -> Result<reqwest::RequestBuilder, String> {
        let parsed = reqwest::Url::parse(url).map_err(|_| "it is not a URL".to_owned())?;
        self.guard
            .check(&parsed)
            .map_err(|refused| format!("it was refused: {refused}"))?;
        Ok(self.client.request(method, parsed))
    }

    pub fn get(&self, url: &str) -> Result<reqwest::RequestBuilder, String> {
        self.request(reqwest::Method::GET, url)
    }

    pub fn guard(&self) -> &Guard {
        &self.guard
    }
}

/// The body of a successful GET of `url`, refused past `max_bytes` without reading the rest.
/// The error says why, for a message that names the URL once.
pub async fn get_capped(http: &Guarded, url: &str, max_bytes: usize) -> Result<Vec<u8>, String> {
    let mut response = http.get(url)?.send().await.map_err(describe)?;
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

/// What failed, in general terms: never the remote answer, and never whether a port was closed
/// or filtered (that would make boxd a port scanner for whoever names the URL).
pub fn describe(err: reqwest::Error) -> String {
    let refused = std::iter::successors(std::error::Error::source(&err), |cause| cause.source())
        .find_map(|cause| cause.downcast_ref::<Refused>());
    if let Some(refused) = refused {
        return format!("it was refused: {refused}");
    }
    if err.is_redirect() {
        // The cause is boxd's own redirect policy speaking, never the remote side.
        match std::error::Error::source(&err) {
            Some(why) => format!("it redirected where boxd does not follow: {why}"),
            None => "it redirected where boxd does not follow".to_owned(),
        }
    } else if err.is_connect() {
        "could not connect".to_owned()
    } else if err.is_timeout() {
        "it did not answer in time".to_owned()
    } else if err.is_body() || err.is_decode() {
        "its answer could not be read".to_owned()
    } else if let Some(status) = err.status() {
        format!("it answered HTTP {status}")
    } else {
        "the request failed".to_owned()
    }
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
