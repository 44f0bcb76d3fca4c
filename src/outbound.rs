//! Outbound HTTP: small documents fetched with a size cap (address detection, the release feed,
//! signatures), the rule for URLs that remote content names, and reqwest errors worded without
//! the URL they repeat.

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

/// Whether boxd may follow `url`, named by remote content (a release feed, an ACME directory)
/// that the operator's `origin` URL served: it must be on the origin's own host and port, or
/// https on a public host (not loopback, private or link-local addresses).
pub fn remote_url_allowed(url: &str, origin: &str) -> bool {
    let (Ok(url), Ok(origin)) = (reqwest::Url::parse(url), reqwest::Url::parse(origin)) else {
        return false;
    };
    if url.host() == origin.host() && url.port_or_known_default() == origin.port_or_known_default()
    {
        return true;
    }
    let public = match url.host() {
        Some(url::Host::Ipv4(ip)) => {
            !(ip.is_loopback() || ip.is_private() || ip.is_link_local() || ip.is_unspecified())
        }
        Some(url::Host::Ipv6(ip)) => {
            !(ip.is_loopback()
                || ip.is_unique_local()
                || ip.is_unicast_link_local()
                || ip.is_unspecified())
        }
        Some(url::Host::Domain(name)) => !name.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    url.scheme() == "https" && public
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_urls_stay_on_the_origin_host_or_public_https() {
        let feed = "http://127.0.0.1:8080/feed.json";
        assert!(remote_url_allowed(
            "http://127.0.0.1:8080/boxd.tar.gz",
            feed
        ));
        assert!(remote_url_allowed("https://github.com/x/boxd.tar.gz", feed));
        for bad in [
            "http://github.com/x",
            "https://10.0.0.1/x",
            "https://[::1]/x",
            "https://169.254.169.254/x",
            "https://localhost/x",
            "http://127.0.0.1:9/x",
            "file:///etc/passwd",
        ] {
            assert!(!remote_url_allowed(bad, feed), "{bad}");
        }
    }

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
