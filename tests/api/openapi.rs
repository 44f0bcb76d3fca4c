//! Cross-cutting: the committed OpenAPI spec, the served spec and docs, and the auth layer agree.

use reqwest::StatusCode;

use crate::support::TestServer;

fn committed() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json")).unwrap()
}

#[test]
fn the_committed_spec_is_what_boxd_openapi_prints() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_boxd"))
        .arg("openapi")
        .output()
        .unwrap();
    assert!(output.status.success());
    let printed = String::from_utf8(output.stdout).unwrap();
    assert!(
        printed == committed(),
        "openapi/openapi.json is stale: run `cargo run -- openapi > openapi/openapi.json`"
    );
}

#[tokio::test]
async fn the_server_serves_the_same_spec() {
    let server = TestServer::start().await;
    let response = server
        .http
        .get(server.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), committed());
}

#[tokio::test]
async fn the_docs_page_works_offline() {
    let server = TestServer::start().await;
    for path in [
        "/api/v1/docs/",
        "/api/v1/docs/swagger-initializer.js",
        "/api/v1/docs/swagger-ui-bundle.js",
    ] {
        let response = server.http.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let text = response.text().await.unwrap();
        if !path.ends_with("bundle.js") {
            assert!(
                !text.contains("http://") && !text.contains("https://"),
                "{path} loads something external:\n{text}"
            );
        }
    }
    let init = server
        .http
        .get(server.url("/api/v1/docs/swagger-initializer.js"))
        .send()
        .await
        .unwrap();
    assert!(init.text().await.unwrap().contains("/api/v1/openapi.json"));
}

/// Every operation the spec marks as authenticated answers 401 without a token, and the public
/// ones do not: the spec and the router's auth layer agree.
#[tokio::test]
async fn the_spec_and_the_auth_layer_agree() {
    let server = TestServer::start().await;
    let spec: serde_json::Value = serde_json::from_str(&committed()).unwrap();
    for (path, item) in spec["paths"].as_object().unwrap() {
        let concrete = path.replace(['{', '}'], "");
        for (method, operation) in item.as_object().unwrap() {
            let method: reqwest::Method = method.to_uppercase().parse().unwrap();
            let response = server
                .http
                .request(method.clone(), server.url(&concrete))
                .send()
                .await
                .unwrap();
            let secured = operation.get("security").is_some();
            if secured {
                assert_eq!(
                    response.status(),
                    StatusCode::UNAUTHORIZED,
                    "{method} {path}"
                );
            } else {
                assert_ne!(
                    response.status(),
                    StatusCode::UNAUTHORIZED,
                    "{method} {path}"
                );
            }
        }
    }
}
