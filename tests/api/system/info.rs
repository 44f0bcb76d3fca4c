//! `/api/v1/system/info`, `/cpus`, `/memory`, `/block_devices` on this machine.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::support::{TestServer, expect_admin_only};

#[tokio::test]
async fn the_host_routes_need_an_admin() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    expect_admin_only(
        &server,
        &owner,
        &[
            (Method::GET, "/api/v1/system/info", Value::Null),
            (Method::GET, "/api/v1/system/cpus", Value::Null),
            (Method::GET, "/api/v1/system/memory", Value::Null),
            (Method::GET, "/api/v1/system/block_devices", Value::Null),
        ],
    )
    .await;
}

#[tokio::test]
async fn system_info_describes_this_machine() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let (code, info) = server.get("/api/v1/system/info", &owner).await;

    assert_eq!(code, StatusCode::OK, "{info}");
    assert!(info["uptimeSecs"].as_u64().unwrap() > 0, "{info}");
    assert!(!info["hostname"].as_str().unwrap().is_empty(), "{info}");
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    assert_eq!(info["kernel"], kernel.trim());
    assert!(!info["os"].as_str().unwrap().is_empty(), "{info}");
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(info["rebootRequired"], false);
    let boot = chrono::DateTime::parse_from_rfc3339(info["bootTime"].as_str().unwrap()).unwrap();
    assert!(boot < chrono::Utc::now());
    assert!(
        info["activationTime"].as_str().unwrap().ends_with('Z'),
        "{info}"
    );
    assert!(info["sysVendor"].is_string() && info["productName"].is_string());
}

#[tokio::test]
async fn every_cpu_this_machine_has_is_listed_with_its_times() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let (code, body) = server.get("/api/v1/system/cpus", &owner).await;

    assert_eq!(code, StatusCode::OK, "{body}");
    let cpus = body["cpus"].as_array().unwrap();
    let stat = std::fs::read_to_string("/proc/stat").unwrap();
    let listed = stat
        .lines()
        .filter(|line| line.starts_with("cpu") && line.as_bytes()[3].is_ascii_digit())
        .count();
    assert!(!cpus.is_empty());
    assert_eq!(cpus.len(), listed, "{body}");
    for cpu in cpus {
        assert!(cpu["model"].is_string() && cpu["speed"].is_u64(), "{cpu}");
        let times = &cpu["times"];
        let total: u64 = ["user", "nice", "sys", "idle", "irq"]
            .iter()
            .map(|mode| times[mode].as_u64().unwrap())
            .sum();
        assert!(total > 0, "{cpu}");
    }
}

#[tokio::test]
async fn memory_is_what_proc_meminfo_says() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let (code, body) = server.get("/api/v1/system/memory", &owner).await;

    assert_eq!(code, StatusCode::OK, "{body}");
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let total_kib: u64 = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(body["memory"].as_u64().unwrap(), total_kib * 1024);
    assert!(body["memoryAvailable"].as_u64().unwrap() > 0);
    assert!(body["swap"].is_u64() && body["swapFree"].is_u64());
}

#[tokio::test]
async fn block_devices_are_the_mounted_devices() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let (code, body) = server.get("/api/v1/system/block_devices", &owner).await;

    assert_eq!(code, StatusCode::OK, "{body}");
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap();
    for device in body["devices"].as_array().unwrap() {
        let path = device["path"].as_str().unwrap();
        assert!(path.starts_with("/dev/"), "{device}");
        assert!(mounts.contains(path), "{path} is not mounted");
        assert!(device["sizeBytes"].as_u64().unwrap() > 0, "{device}");
        assert!(!device["size"].as_str().unwrap().is_empty());
        assert!(device["type"].is_string() && device["uuid"].is_string());
    }
}
