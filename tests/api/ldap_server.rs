//! The directory server: a real boxd, real LDAP clients (the `ldap3` crate, and `ldapsearch` /
//! `ldapwhoami` from Debian's ldap-utils) and raw sockets for what no client sends.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::net::{IpAddr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use boxd::clock::ManualClock;
use boxd::config::Config;
use chrono::{TimeDelta, Utc};
use ldap3::exop::{Exop, WhoAmI, WhoAmIResp};
use ldap3::{
    Ldap, LdapConnAsync, LdapConnSettings, Mod, Scope, SearchEntry, SearchOptions, StdStream,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::timeout;

use crate::support::{OWNER_PASSWORD, TestServer, USER_PASSWORD};

const SECRET: &str = "Directory-Secret-1";
const ADMIN_DN: &str = "cn=admin,ou=system,dc=cloudron";
const USERS: &str = "ou=users,dc=cloudron";
const GROUPS: &str = "ou=groups,dc=cloudron";
/// The OID of the Notice of Disconnection (RFC 4511 §4.4.1).
const NOTICE_OF_DISCONNECTION: &[u8] = b"1.3.6.1.4.1.1466.20036";

// LDAP result codes.
const SUCCESS: u32 = 0;
const PROTOCOL_ERROR: u32 = 2;
const SIZE_LIMIT_EXCEEDED: u32 = 4;
const NO_SUCH_OBJECT: u32 = 32;
const INVALID_CREDENTIALS: u32 = 49;
const INSUFFICIENT_ACCESS: u32 = 50;
const UNWILLING: u32 = 53;

/// A server with the directory server enabled for loopback clients.
struct Directory {
    server: TestServer,
    owner: String,
    addr: SocketAddr,
}

impl Directory {
    async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let server = TestServer::start_with(adjust).await;
        let owner = server.owner_token().await;
        configure(&server, &owner, true, "127.0.0.1\n::1").await;
        let addr = listening(&server).await;
        Self {
            server,
            owner,
            addr,
        }
    }

    fn url(&self) -> String {
        format!("ldap://{}", self.addr)
    }

    async fn admin(&self) -> Ldap {
        let mut ldap = connect(&self.url()).await;
        let bound = ldap.simple_bind(ADMIN_DN, SECRET).await.unwrap();
        assert_eq!(bound.rc, SUCCESS, "{bound:?}");
        ldap
    }

    /// The result code of a bind on a new connection.
    async fn bind(&self, dn: &str, password: &str) -> u32 {
        let mut ldap = connect(&self.url()).await;
        let rc = ldap.simple_bind(dn, password).await.unwrap().rc;
        let _ = ldap.unbind().await;
        rc
    }

    async fn user(&self, username: &str, role: &str) -> (String, String) {
        self.server.add_user(&self.owner, username, role).await
    }
}

async fn configure(server: &TestServer, token: &str, enabled: bool, allowlist: &str) {
    let body = json!({"enabled": enabled, "secret": SECRET, "allowlist": allowlist});
    let (code, answer) = server
        .post("/api/v1/directory_server/config", token, body)
        .await;
    assert_eq!(code, StatusCode::OK, "{answer}");
}

async fn listening(server: &TestServer) -> SocketAddr {
    let bound = timeout(
        Duration::from_secs(5),
        server.state.directory_server.listening(),
    )
    .await
    .expect("the directory server did not start listening");
    bound.ldap.unwrap()
}

async fn connect(url: &str) -> Ldap {
    let (conn, ldap) = LdapConnAsync::new(url).await.unwrap();
    ldap3::drive!(conn);
    ldap
}

/// An LDAP connection from another loopback address (Linux routes all of 127/8 to lo).
async fn connect_from(local: [u8; 4], addr: SocketAddr) -> Ldap {
    let stream = raw_from(local, addr).await.into_std().unwrap();
    let settings = LdapConnSettings::new().set_std_stream(StdStream::Tcp(stream));
    let (conn, ldap) = LdapConnAsync::with_settings(settings, &format!("ldap://{addr}"))
        .await
        .unwrap();
    ldap3::drive!(conn);
    ldap
}

async fn raw_from(local: [u8; 4], addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::new(IpAddr::from(local), 0))
        .unwrap();
    socket.connect(addr).await.unwrap()
}

/// Reads until the server closes the connection; panics if it has not within `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> Vec<u8> {
    let mut got = Vec::new();
    let read = timeout(within, stream.read_to_end(&mut got)).await;
    assert!(read.is_ok(), "the server kept the connection open");
    got
}

async fn search(
    ldap: &mut Ldap,
    base: &str,
    scope: Scope,
    filter: &str,
    attrs: &[&str],
) -> (Vec<SearchEntry>, u32) {
    let found = ldap
        .search(base, scope, filter, attrs.to_vec())
        .await
        .unwrap();
    let entries = found.0.into_iter().map(SearchEntry::construct).collect();
    (entries, found.1.rc)
}

fn first<'a>(entry: &'a SearchEntry, attr: &str) -> &'a str {
    entry
        .attrs
        .get(attr)
        .and_then(|v| v.first())
        .map_or("", String::as_str)
}

fn dns(entries: &[SearchEntry]) -> BTreeSet<String> {
    entries.iter().map(|e| e.dn.clone()).collect()
}

fn user_dn(id: &str) -> String {
    format!("cn={id},{USERS}")
}

/// The code of `secret` at `at`, as an authenticator app computes it.
fn totp_code(secret: &str, at: chrono::DateTime<Utc>) -> String {
    let secret = totp_rs::Secret::try_from_base32(secret).unwrap();
    let totp = totp_rs::Builder::new().with_secret(secret).build().unwrap();
    totp.generate(u64::try_from(at.timestamp()).unwrap())
        .to_string()
}

/// Turns 2FA on for the user of `token`; returns the TOTP secret.
async fn enable_two_factor(server: &TestServer, token: &str) -> String {
    let (_, created) = server
        .post(
            "/api/v1/profile/twofactorauthentication_secret",
            token,
            json!({}),
        )
        .await;
    let secret = created["secret"].as_str().unwrap().to_owned();
    let code = totp_code(&secret, Utc::now());
    let (status, body) = server
        .post(
            "/api/v1/profile/twofactorauthentication_enable",
            token,
            json!({"totpToken": code}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    secret
}

async fn ldap_logins(server: &TestServer, token: &str) -> Vec<Value> {
    let (_, events) = server
        .get("/api/v1/eventlog?actions=user.login&per_page=100", token)
        .await;
    events["eventlogs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["data"]["authType"] == "ldap")
        .cloned()
        .collect()
}

#[tokio::test]
async fn the_admin_bind_searches_users_and_groups_with_filters_scopes_and_attributes() {
    let dir = Directory::start().await;
    let (bob, _) = dir.user("bob", "user").await;
    let (ada, _) = dir.user("ada", "admin").await;
    let (carol, _) = dir.user("carol", "user").await;
    let profile = json!({"displayName": "Bob The Builder"});
    let (code, _) = dir
        .server
        .post(&format!("/api/v1/users/{bob}/profile"), &dir.owner, profile)
        .await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    let (code, _) = dir
        .server
        .put(
            &format!("/api/v1/users/{carol}/active"),
            &dir.owner,
            json!({"active": false}),
        )
        .await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    let (_, invited) = dir
        .server
        .post(
            "/api/v1/users",
            &dir.owner,
            json!({"email": "new@example.com"}),
        )
        .await;
    assert!(
        invited["id"].is_string(),
        "an invited user without a username is not listed"
    );
    let (_, devs) = dir
        .server
        .post("/api/v1/groups", &dir.owner, json!({"name": "devs"}))
        .await;
    let devs = devs["id"].as_str().unwrap();
    let (code, _) = dir
        .server
        .put(
            &format!("/api/v1/groups/{devs}/members"),
            &dir.owner,
            json!({"userIds": [bob]}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    let (_, me) = dir.server.get("/api/v1/profile", &dir.owner).await;
    let alice = me["id"].as_str().unwrap().to_owned();
    let mut ldap = dir.admin().await;

    let (users, rc) = search(&mut ldap, USERS, Scope::Subtree, "(objectclass=user)", &[]).await;
    assert_eq!(rc, SUCCESS);
    assert_eq!(
        dns(&users),
        [&alice, &ada, &bob].iter().map(|id| user_dn(id)).collect()
    );

    let app_filter = "(&(objectclass=user)(|(username=BOB)(mail=bob)))";
    let (found, _) = search(&mut ldap, USERS, Scope::Subtree, app_filter, &["*"]).await;
    assert_eq!(found.len(), 1);
    let entry = &found[0];
    assert_eq!(entry.dn, user_dn(&bob));
    let mut classes = entry.attrs["objectclass"].clone();
    classes.sort();
    assert_eq!(classes, ["inetorgperson", "person", "user"]);
    for (attr, value) in [
        ("objectcategory", "person"),
        ("cn", bob.as_str()),
        ("uid", bob.as_str()),
        ("username", "bob"),
        ("samaccountname", "bob"),
        ("mail", "bob@example.com"),
        ("displayname", "Bob The Builder"),
        ("givenName", "Bob"),
        ("sn", "Builder"),
    ] {
        assert_eq!(first(entry, attr), value, "{attr}");
    }
    assert_eq!(
        entry.attrs["memberof"],
        [format!("cn=users,{GROUPS}"), format!("cn=devs,{GROUPS}")]
    );
    let (owner, _) = search(
        &mut ldap,
        &user_dn(&alice),
        Scope::Base,
        "(objectclass=*)",
        &[],
    )
    .await;
    assert_eq!(first(&owner[0], "displayname"), "alice");
    assert!(!owner[0].attrs.contains_key("sn"), "no last name, no sn");
    assert!(owner[0].attrs["memberof"].contains(&format!("cn=admins,{GROUPS}")));

    let filters = [
        ("(mail=*@EXAMPLE.com)", 3),
        (
            "(&(objectclass=user)(!(memberof=CN=Admins, OU=Groups, DC=Cloudron)))",
            1,
        ),
        ("(sn=*)", 1),
        ("(|(username=ada)(username=nobody))", 1),
        ("(username=b*b)", 1),
        ("(username=carol)", 0),
    ];
    for (filter, count) in filters {
        let (found, rc) = search(
            &mut ldap,
            "dc=cloudron",
            Scope::Subtree,
            filter,
            &["username"],
        )
        .await;
        assert_eq!((found.len(), rc), (count, SUCCESS), "{filter}");
    }

    let (groups, _) = search(
        &mut ldap,
        GROUPS,
        Scope::OneLevel,
        "(objectclass=group)",
        &[],
    )
    .await;
    let names: Vec<&str> = groups.iter().map(|g| first(g, "cn")).collect();
    assert_eq!(names, ["users", "admins", "devs"]);
    assert_eq!(groups[2].attrs["memberuid"], vec![bob.clone()]);
    assert_eq!(groups[2].attrs["member"], [user_dn(&bob)]);
    let mut admins = groups[1].attrs["memberuid"].clone();
    admins.sort();
    let mut expected = vec![alice.clone(), ada.clone()];
    expected.sort();
    assert_eq!(admins, expected);

    let (chosen, _) = search(
        &mut ldap,
        USERS,
        Scope::OneLevel,
        "(username=bob)",
        &["USERNAME", "mail"],
    )
    .await;
    let names: BTreeSet<&str> = chosen[0].attrs.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        BTreeSet::from(["username", "mail"]),
        "only what was asked for"
    );
    let (none, _) = search(
        &mut ldap,
        USERS,
        Scope::OneLevel,
        "(username=bob)",
        &["1.1"],
    )
    .await;
    assert!(none[0].attrs.is_empty());

    let (level, _) = search(
        &mut ldap,
        "dc=cloudron",
        Scope::OneLevel,
        "(objectclass=*)",
        &[],
    )
    .await;
    assert_eq!(
        dns(&level),
        BTreeSet::from([USERS.to_owned(), GROUPS.to_owned()])
    );
    let (all, _) = search(
        &mut ldap,
        "DC=Cloudron",
        Scope::Subtree,
        "(objectclass=*)",
        &[],
    )
    .await;
    assert_eq!(all.len(), 3 + 3 + 3, "containers, users, groups");
    let (missing, rc) = search(
        &mut ldap,
        "cn=nobody,ou=users,dc=cloudron",
        Scope::Base,
        "(objectclass=*)",
        &[],
    )
    .await;
    assert_eq!((missing.len(), rc), (0, NO_SUCH_OBJECT));

    let limited = ldap
        .with_search_options(SearchOptions::new().sizelimit(2))
        .search(USERS, Scope::OneLevel, "(objectclass=user)", vec!["cn"])
        .await
        .unwrap();
    assert_eq!((limited.0.len(), limited.1.rc), (2, SIZE_LIMIT_EXCEEDED));
    let paged = ldap
        .with_controls(ldap3::controls::PagedResults {
            size: 1,
            cookie: Vec::new(),
        })
        .search(USERS, Scope::OneLevel, "(objectclass=user)", vec!["cn"])
        .await
        .unwrap();
    assert_eq!(
        (paged.0.len(), paged.1.rc),
        (3, SUCCESS),
        "one page holds all"
    );
    let (who, _) = ldap.extended(WhoAmI).await.unwrap().success().unwrap();
    assert_eq!(who.parse::<WhoAmIResp>().authzid, format!("dn:{ADMIN_DN}"));
}

#[tokio::test]
async fn group_changes_show_in_memberof_and_memberuid_at_once() {
    let dir = Directory::start().await;
    let (bob, _) = dir.user("bob", "user").await;
    let (_, created) = dir
        .server
        .post("/api/v1/groups", &dir.owner, json!({"name": "Dev Ops"}))
        .await;
    let group = created["id"].as_str().unwrap().to_owned();
    let mut ldap = dir.admin().await;
    let group_filter = "(&(objectclass=group)(cn=dev ops))";
    let bob_filter = format!("(uid={bob})");

    let (found, _) = search(
        &mut ldap,
        GROUPS,
        Scope::OneLevel,
        group_filter,
        &["memberuid"],
    )
    .await;
    assert_eq!(found[0].dn, format!("cn=Dev Ops,{GROUPS}"));
    assert!(found[0].attrs["memberuid"].is_empty());
    let path = format!("/api/v1/groups/{group}/members");
    assert_eq!(
        dir.server
            .put(&path, &dir.owner, json!({"userIds": [bob]}))
            .await
            .0,
        StatusCode::OK
    );
    let (found, _) = search(
        &mut ldap,
        GROUPS,
        Scope::OneLevel,
        group_filter,
        &["memberuid"],
    )
    .await;
    assert_eq!(found[0].attrs["memberuid"], vec![bob.clone()]);
    let (user, _) = search(
        &mut ldap,
        USERS,
        Scope::OneLevel,
        &bob_filter,
        &["memberof"],
    )
    .await;
    assert!(user[0].attrs["memberof"].contains(&format!("cn=Dev Ops,{GROUPS}")));
    let in_group = format!("(&(objectclass=user)(memberof=cn=dev ops,{GROUPS}))");
    let (members, _) = search(&mut ldap, USERS, Scope::OneLevel, &in_group, &["uid"]).await;
    assert_eq!(members.len(), 1, "apps filter users by group");

    let path = format!("/api/v1/users/{bob}/groups");
    assert_eq!(
        dir.server
            .put(&path, &dir.owner, json!({"groupIds": []}))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    let (user, _) = search(
        &mut ldap,
        USERS,
        Scope::OneLevel,
        &bob_filter,
        &["memberof"],
    )
    .await;
    assert_eq!(
        user[0].attrs["memberof"],
        vec![format!("cn=users,{GROUPS}")]
    );
    let path = format!("/api/v1/groups/{group}/name");
    assert_eq!(
        dir.server
            .put(&path, &dir.owner, json!({"name": "SRE"}))
            .await
            .0,
        StatusCode::OK
    );
    let (found, _) = search(&mut ldap, GROUPS, Scope::OneLevel, "(cn=sre)", &["cn"]).await;
    assert_eq!(found.len(), 1, "a new name shows at once");
}

#[tokio::test]
async fn ldapsearch_and_ldapwhoami_from_ldap_utils_work_against_it() {
    let dir = Directory::start().await;
    let (bob, _) = dir.user("bob", "user").await;
    let (_, devs) = dir
        .server
        .post("/api/v1/groups", &dir.owner, json!({"name": "devs"}))
        .await;
    let devs = devs["id"].as_str().unwrap();
    dir.server
        .put(
            &format!("/api/v1/groups/{devs}/members"),
            &dir.owner,
            json!({"userIds": [bob]}),
        )
        .await;
    let tool = |name: &str| {
        let path = format!("/usr/bin/{name}");
        assert!(
            std::path::Path::new(&path).exists(),
            "{path} is missing: apt-get install ldap-utils (CI does this in .ci/run)"
        );
        path
    };
    let (ldapsearch, ldapwhoami, url) = (tool("ldapsearch"), tool("ldapwhoami"), dir.url());

    let output = tokio::process::Command::new(&ldapsearch)
        .args([
            "-x",
            "-LLL",
            "-o",
            "ldif-wrap=no",
            "-H",
            &url,
            "-D",
            ADMIN_DN,
            "-w",
            SECRET,
        ])
        .args(["-b", USERS])
        .args([
            "(&(objectclass=user)(|(username=bob)(mail=bob)))",
            "username",
            "memberof",
        ])
        .output()
        .await
        .unwrap();
    let ldif = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{ldif}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        ldif.trim(),
        format!(
            "dn: {}\nusername: bob\nmemberof: cn=users,{GROUPS}\nmemberof: cn=devs,{GROUPS}",
            user_dn(&bob)
        )
    );
    let refused = tokio::process::Command::new(&ldapsearch)
        .args(["-x", "-LLL", "-H", &url, "-b", USERS, "(objectclass=user)"])
        .output()
        .await
        .unwrap();
    assert_eq!(
        refused.status.code(),
        Some(INSUFFICIENT_ACCESS as i32),
        "an anonymous search"
    );
    let whoami = tokio::process::Command::new(&ldapwhoami)
        .args([
            "-x",
            "-H",
            &url,
            "-D",
            "uid=bob,ou=users,dc=cloudron",
            "-w",
            USER_PASSWORD,
        ])
        .output()
        .await
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&whoami.stdout).trim(),
        format!("dn:{}", user_dn(&bob))
    );
}

#[tokio::test]
async fn users_bind_by_id_username_or_email_and_cannot_search() {
    let dir = Directory::start().await;
    let (bob, _) = dir.user("bob", "user").await;

    for dn in [
        user_dn(&bob),
        "cn=bob,ou=users,dc=cloudron".to_owned(),
        "CN=BOB, OU=Users, DC=Cloudron".to_owned(),
        "uid=bob,ou=users,dc=cloudron".to_owned(),
        format!("uid={bob},ou=users,dc=cloudron"),
        "mail=bob@example.com,ou=users,dc=cloudron".to_owned(),
        "cn=Bob@Example.com,ou=users,dc=cloudron".to_owned(),
    ] {
        assert_eq!(dir.bind(&dn, USER_PASSWORD).await, SUCCESS, "{dn}");
    }
    let logins = ldap_logins(&dir.server, &dir.owner).await;
    assert_eq!(logins.len(), 7);
    assert_eq!(logins[0]["data"]["userId"], bob);
    assert_eq!(logins[0]["source"]["ip"], "127.0.0.1");
    for (dn, password) in [
        ("cn=bob,ou=users,dc=cloudron", "wrong password"),
        ("cn=nobody,ou=users,dc=cloudron", USER_PASSWORD),
        ("cn=bob,ou=groups,dc=cloudron", USER_PASSWORD),
        ("sn=bob,ou=users,dc=cloudron", USER_PASSWORD),
        (ADMIN_DN, "not the secret"),
        ("cn=bob,ou=users,dc=cloudron", OWNER_PASSWORD),
    ] {
        assert_eq!(dir.bind(dn, password).await, INVALID_CREDENTIALS, "{dn}");
    }
    assert_eq!(
        dir.bind("cn=bob,ou=users,dc=cloudron", "").await,
        UNWILLING,
        "no password"
    );

    let mut user = connect(&dir.url()).await;
    user.simple_bind("cn=bob,ou=users,dc=cloudron", USER_PASSWORD)
        .await
        .unwrap();
    let (who, _) = user.extended(WhoAmI).await.unwrap().success().unwrap();
    assert_eq!(
        who.parse::<WhoAmIResp>().authzid,
        format!("dn:{}", user_dn(&bob))
    );
    let (found, rc) = search(&mut user, USERS, Scope::Subtree, "(objectclass=user)", &[]).await;
    assert_eq!(
        (found.len(), rc),
        (0, INSUFFICIENT_ACCESS),
        "a user may not search"
    );
    let mut anonymous = connect(&dir.url()).await;
    let (found, rc) = search(
        &mut anonymous,
        USERS,
        Scope::Subtree,
        "(objectclass=*)",
        &[],
    )
    .await;
    assert_eq!(
        (found.len(), rc),
        (0, INSUFFICIENT_ACCESS),
        "nor may anyone unbound"
    );
    assert_eq!(anonymous.simple_bind("", "").await.unwrap().rc, SUCCESS);
    let (_, rc) = search(
        &mut anonymous,
        USERS,
        Scope::Subtree,
        "(objectclass=*)",
        &[],
    )
    .await;
    assert_eq!(rc, INSUFFICIENT_ACCESS, "nor an anonymous bind");
    assert_eq!(
        ldap_logins(&dir.server, &dir.owner).await.len(),
        8,
        "failures record nothing"
    );
}

#[tokio::test]
async fn unknown_inactive_and_wrong_binds_take_the_same_time() {
    let dir = Directory::start().await;
    dir.user("bob", "user").await;
    let (carol, _) = dir.user("carol", "user").await;
    let path = format!("/api/v1/users/{carol}/active");
    dir.server
        .put(&path, &dir.owner, json!({"active": false}))
        .await;
    // Three of each: nine failures stay under the throttle's ten. The fastest of each counts:
    // other tests running at once only ever add time.
    let fastest = |dn: &'static str, password: &'static str| {
        let dir = &dir;
        async move {
            let mut times = Vec::new();
            for _ in 0..3 {
                let started = Instant::now();
                assert_eq!(dir.bind(dn, password).await, INVALID_CREDENTIALS, "{dn}");
                times.push(started.elapsed());
            }
            times.into_iter().min().unwrap()
        }
    };
    let wrong = fastest("cn=bob,ou=users,dc=cloudron", "wrong password").await;
    let unknown = fastest("cn=nobody,ou=users,dc=cloudron", "wrong password").await;
    let inactive = fastest("cn=carol,ou=users,dc=cloudron", USER_PASSWORD).await;

    println!(
        "fastest failed bind: wrong password {wrong:?}, unknown user {unknown:?}, inactive user {inactive:?}"
    );
    assert!(
        unknown.min(inactive) * 3 > wrong,
        "a password hash is checked every time"
    );
}

#[tokio::test]
async fn app_passwords_bind_while_they_exist() {
    let dir = Directory::start().await;
    let (_, token) = dir.user("bob", "user").await;
    let (_, created) = dir
        .server
        .post(
            "/api/v1/app_passwords",
            &token,
            json!({"name": "nas", "identifier": "nas"}),
        )
        .await;
    let app_password = created["password"].as_str().unwrap().to_owned();
    let dn = "cn=bob,ou=users,dc=cloudron";

    assert_eq!(dir.bind(dn, &app_password).await, SUCCESS);
    assert_eq!(
        dir.bind("cn=alice,ou=users,dc=cloudron", &app_password)
            .await,
        INVALID_CREDENTIALS,
        "only its own user's"
    );
    let id = created["id"].as_str().unwrap();
    let (code, _) = dir
        .server
        .delete(&format!("/api/v1/app_passwords/{id}"), &token)
        .await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    assert_eq!(dir.bind(dn, &app_password).await, INVALID_CREDENTIALS);
    assert_eq!(dir.bind(dn, USER_PASSWORD).await, SUCCESS);
}

#[tokio::test]
async fn a_two_factor_user_binds_with_password_and_code_once_or_with_an_app_password() {
    let dir = Directory::start().await;
    let (_, token) = dir.user("bob", "user").await;
    let secret = enable_two_factor(&dir.server, &token).await;
    let (_, created) = dir
        .server
        .post("/api/v1/app_passwords", &token, json!({"name": "nas"}))
        .await;
    let app_password = created["password"].as_str().unwrap().to_owned();
    let dn = "cn=bob,ou=users,dc=cloudron";
    // Enabling used the current step; the next one is within the accepted skew.
    let code = totp_code(&secret, Utc::now() + TimeDelta::seconds(30));

    assert_eq!(
        dir.bind(dn, USER_PASSWORD).await,
        INVALID_CREDENTIALS,
        "the code is required"
    );
    assert_eq!(
        dir.bind(dn, &format!("{USER_PASSWORD}000000")).await,
        INVALID_CREDENTIALS
    );
    assert_eq!(
        dir.bind(dn, &format!("{USER_PASSWORD}{code}")).await,
        SUCCESS
    );
    assert_eq!(
        dir.bind(dn, &format!("{USER_PASSWORD}{code}")).await,
        INVALID_CREDENTIALS,
        "a code is accepted once"
    );
    assert_eq!(
        dir.bind(dn, &app_password).await,
        SUCCESS,
        "app passwords need no code"
    );
}

#[tokio::test]
async fn inactive_users_neither_bind_nor_show() {
    let dir = Directory::start().await;
    let (bob, _) = dir.user("bob", "user").await;
    let (code, _) = dir
        .server
        .put(
            &format!("/api/v1/users/{bob}/active"),
            &dir.owner,
            json!({"active": false}),
        )
        .await;
    assert_eq!(code, StatusCode::NO_CONTENT);

    assert_eq!(
        dir.bind("cn=bob,ou=users,dc=cloudron", USER_PASSWORD).await,
        INVALID_CREDENTIALS
    );
    let mut ldap = dir.admin().await;
    let (found, _) = search(&mut ldap, USERS, Scope::Subtree, "(username=bob)", &[]).await;
    assert!(found.is_empty());
    let (code, _) = dir
        .server
        .put(
            &format!("/api/v1/users/{bob}/active"),
            &dir.owner,
            json!({"active": true}),
        )
        .await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    assert_eq!(
        dir.bind("cn=bob,ou=users,dc=cloudron", USER_PASSWORD).await,
        SUCCESS
    );
}

#[tokio::test]
async fn writes_compare_and_unknown_extended_operations_are_refused() {
    let dir = Directory::start().await;
    let mut ldap = dir.admin().await;
    let dn = format!("cn=new,{USERS}");

    let attrs = vec![("objectclass", std::collections::HashSet::from(["user"]))];
    assert_eq!(ldap.add(&dn, attrs).await.unwrap().rc, UNWILLING);
    let change = vec![Mod::Replace(
        "mail",
        std::collections::HashSet::from(["x@example.com"]),
    )];
    assert_eq!(ldap.modify(&dn, change).await.unwrap().rc, UNWILLING);
    assert_eq!(ldap.delete(&dn).await.unwrap().rc, UNWILLING);
    assert_eq!(
        ldap.modifydn(&dn, "cn=other", true, None).await.unwrap().rc,
        UNWILLING
    );
    assert_eq!(
        ldap.compare(&dn, "mail", "x").await.unwrap().0.rc,
        UNWILLING
    );
    let start_tls = Exop {
        name: Some("1.3.6.1.4.1.1466.20037".into()),
        val: None,
    };
    assert_eq!(
        ldap.extended(start_tls).await.unwrap().1.rc,
        PROTOCOL_ERROR,
        "no StartTLS: use LDAPS"
    );
    let (found, rc) = search(&mut ldap, USERS, Scope::Subtree, "(objectclass=user)", &[]).await;
    assert_eq!((found.len(), rc), (1, SUCCESS), "the connection goes on");
}

#[tokio::test]
async fn the_allowlist_closes_other_addresses_before_any_operation_and_applies_at_once() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    configure(&server, &owner, true, "127.0.0.1").await;
    let addr = listening(&server).await;

    let mut refused = raw_from([127, 0, 0, 2], addr).await;
    assert!(
        closed_within(&mut refused, Duration::from_secs(2))
            .await
            .is_empty(),
        "closed without a word"
    );
    let mut outsider = connect_from([127, 0, 0, 2], addr).await;
    assert!(outsider.simple_bind(ADMIN_DN, SECRET).await.is_err());
    let mut insider = connect_from([127, 0, 0, 1], addr).await;
    assert_eq!(
        insider.simple_bind(ADMIN_DN, SECRET).await.unwrap().rc,
        SUCCESS
    );

    configure(&server, &owner, true, "127.0.0.2\n127.0.0.3").await;

    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        insider.simple_bind(ADMIN_DN, SECRET).await.is_err(),
        "its connection ended"
    );
    let mut now_allowed = connect_from([127, 0, 0, 2], addr).await;
    assert_eq!(
        now_allowed.simple_bind(ADMIN_DN, SECRET).await.unwrap().rc,
        SUCCESS
    );
    let blocklist = json!({"blocklist": "127.0.0.3"});
    let (code, _) = server
        .post("/api/v1/network/blocklist", &owner, blocklist)
        .await;
    assert_eq!(code, StatusCode::OK);
    let mut blocked = raw_from([127, 0, 0, 3], addr).await;
    let said = closed_within(&mut blocked, Duration::from_secs(2)).await;
    assert!(said.is_empty(), "the blocklist applies to LDAP too");
}

#[tokio::test]
async fn enabling_and_disabling_apply_without_a_restart_and_shutdown_closes_the_listener() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    assert_eq!(
        *server.state.directory_server.listening.borrow(),
        Default::default(),
        "no port until enabled"
    );

    configure(&server, &owner, true, "127.0.0.1").await;
    let addr = listening(&server).await;
    let url = format!("ldap://{addr}");
    let mut open = connect(&url).await;
    assert_eq!(
        open.simple_bind(ADMIN_DN, SECRET).await.unwrap().rc,
        SUCCESS
    );

    configure(&server, &owner, false, "127.0.0.1").await;
    let mut fresh = TcpStream::connect(addr).await.unwrap();
    let said = closed_within(&mut fresh, Duration::from_secs(2)).await;
    assert!(said.is_empty(), "new connections are closed at once");
    assert!(
        open.simple_bind(ADMIN_DN, SECRET).await.is_err(),
        "open ones end"
    );

    configure(&server, &owner, true, "127.0.0.1").await;
    let mut again = connect(&url).await;
    assert_eq!(
        again.simple_bind(ADMIN_DN, SECRET).await.unwrap().rc,
        SUCCESS,
        "the same address again"
    );
    let mut rebound = connect(&url).await;
    let changed = json!({"enabled": true, "secret": "another secret", "allowlist": "127.0.0.1"});
    let (code, _) = server
        .post("/api/v1/directory_server/config", &owner, changed)
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        rebound.simple_bind(ADMIN_DN, SECRET).await.unwrap().rc,
        INVALID_CREDENTIALS,
        "the new secret applies"
    );
    assert_eq!(
        rebound
            .simple_bind(ADMIN_DN, "another secret")
            .await
            .unwrap()
            .rc,
        SUCCESS
    );
    let (_, rc) = search(&mut again, USERS, Scope::Subtree, "(objectclass=user)", &[]).await;
    assert_eq!(
        rc, INSUFFICIENT_ACCESS,
        "a bind with the old secret is no longer the admin"
    );

    server.shutdown().await;
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "the listener closed with the HTTP server"
    );
    assert!(
        rebound
            .simple_bind(ADMIN_DN, "another secret")
            .await
            .is_err()
    );
}

#[tokio::test]
async fn failed_binds_share_the_login_throttle_and_recover() {
    let clock = Arc::new(ManualClock::default());
    let dir = Directory::start_with(|config| config.clock = clock.clone()).await;
    dir.user("bob", "user").await;
    for n in 0..5 {
        let body = json!({"username": format!("nobody{n}"), "password": "wrong password"});
        let (code, _) = dir.server.post("/api/v1/auth/login", "", body).await;
        assert_eq!(code, StatusCode::UNAUTHORIZED);
    }
    for n in 0..5 {
        let dn = format!("cn=ghost{n},ou=users,dc=cloudron");
        assert_eq!(dir.bind(&dn, "wrong password").await, INVALID_CREDENTIALS);
    }

    let mut ldap = connect(&dir.url()).await;
    let throttled = ldap
        .simple_bind("cn=bob,ou=users,dc=cloudron", USER_PASSWORD)
        .await
        .unwrap();
    assert_eq!(throttled.rc, UNWILLING, "{throttled:?}");
    assert!(throttled.text.contains("try again"), "{}", throttled.text);
    let admin = ldap.simple_bind(ADMIN_DN, SECRET).await.unwrap();
    assert_eq!(admin.rc, UNWILLING, "the admin DN too");
    let body = json!({"username": "bob", "password": USER_PASSWORD});
    let (code, _) = dir
        .server
        .post("/api/v1/auth/login", "", body.clone())
        .await;
    assert_eq!(
        code,
        StatusCode::TOO_MANY_REQUESTS,
        "HTTP logins share the window"
    );

    clock.advance(TimeDelta::seconds(61));
    assert_eq!(
        ldap.simple_bind("cn=bob,ou=users,dc=cloudron", USER_PASSWORD)
            .await
            .unwrap()
            .rc,
        SUCCESS
    );
    assert_eq!(
        dir.server.post("/api/v1/auth/login", "", body).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_malformed_and_an_oversized_message_close_only_their_own_connection() {
    let dir = Directory::start().await;
    let mut other = dir.admin().await;

    // A SEQUENCE holding only a message id: BER, but no LDAP message.
    let mut malformed = TcpStream::connect(dir.addr).await.unwrap();
    malformed
        .write_all(&[0x30, 0x03, 0x02, 0x01, 0x01])
        .await
        .unwrap();
    let said = closed_within(&mut malformed, Duration::from_secs(2)).await;
    assert!(
        said.windows(NOTICE_OF_DISCONNECTION.len())
            .any(|w| w == NOTICE_OF_DISCONNECTION)
    );
    // A header announcing 2 MiB, and no body: refused from the header, not after waiting.
    let mut announced = TcpStream::connect(dir.addr).await.unwrap();
    announced
        .write_all(&[0x30, 0x83, 0x20, 0x00, 0x00])
        .await
        .unwrap();
    let started = Instant::now();
    let said = closed_within(&mut announced, Duration::from_secs(2)).await;
    println!("2 MiB header refused after {:?}", started.elapsed());
    assert!(
        said.windows(NOTICE_OF_DISCONNECTION.len())
            .any(|w| w == NOTICE_OF_DISCONNECTION)
    );
    // A whole 2 MiB message, sent as fast as the server takes it.
    let sender = TcpStream::connect(dir.addr).await.unwrap();
    let (mut reader, mut writer) = sender.into_split();
    let sending = tokio::spawn(async move {
        let mut message = vec![0x30, 0x83, 0x20, 0x00, 0x00];
        message.resize(5 + 2 * 1024 * 1024, 0x04);
        writer.write_all(&message).await
    });
    let mut got = Vec::new();
    let read = timeout(Duration::from_secs(5), reader.read_to_end(&mut got)).await;
    assert!(read.is_ok(), "the server kept reading a 2 MiB message");
    // Loopback buffers may take the whole message before the server's reset arrives, so the
    // sender may or may not see an error; the header-only case above shows nothing is awaited.
    let _ = sending.await.unwrap();

    let (found, rc) = search(&mut other, USERS, Scope::Subtree, "(objectclass=user)", &[]).await;
    assert_eq!(
        (found.len(), rc),
        (1, SUCCESS),
        "the other connection is untouched"
    );
    let (code, _) = dir.server.get("/api/v1/cloudron/status", "").await;
    assert_eq!(code, StatusCode::OK);
}

#[tokio::test]
async fn connections_over_the_per_address_cap_are_closed_at_once() {
    let dir = Directory::start_with(|config| config.ldap.max_connections_per_ip = 3).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(dir.admin().await);
    }

    let mut fourth = TcpStream::connect(dir.addr).await.unwrap();
    assert!(
        closed_within(&mut fourth, Duration::from_secs(2))
            .await
            .is_empty()
    );
    let _ = held.pop().unwrap().unbind().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut ldap = dir.admin().await;
    assert_eq!(
        ldap.extended(WhoAmI).await.unwrap().1.rc,
        SUCCESS,
        "a freed place is taken"
    );
    let mut other = connect_from([127, 0, 0, 1], dir.addr).await;
    assert!(
        other.simple_bind(ADMIN_DN, SECRET).await.is_err(),
        "still three at most"
    );
}

#[tokio::test]
async fn two_hundred_idle_connections_are_cut_at_the_idle_timeout_while_the_api_answers() {
    let idle = Duration::from_secs(2);
    let dir = Directory::start_with(|config| config.ldap.idle_timeout = idle).await;
    let opened = Instant::now();
    let mut idlers = Vec::new();
    for _ in 0..200 {
        idlers.push(TcpStream::connect(dir.addr).await.unwrap());
    }
    let connected = opened.elapsed();
    let waits = idlers.into_iter().map(|mut stream| {
        tokio::spawn(async move {
            let mut byte = [0u8; 1];
            let _ = timeout(Duration::from_secs(30), stream.read(&mut byte)).await;
            opened.elapsed()
        })
    });
    let waits: Vec<_> = waits.collect();

    let mut slowest_http = Duration::ZERO;
    let mut slowest_ldap = Duration::ZERO;
    while opened.elapsed() < idle + Duration::from_secs(1) {
        let asked = Instant::now();
        let (code, _) = dir.server.get("/api/v1/cloudron/status", "").await;
        assert_eq!(code, StatusCode::OK);
        slowest_http = slowest_http.max(asked.elapsed());
        let asked = Instant::now();
        let mut ldap = dir.admin().await;
        let (_, rc) = search(&mut ldap, USERS, Scope::Subtree, "(objectclass=user)", &[]).await;
        assert_eq!(rc, SUCCESS);
        slowest_ldap = slowest_ldap.max(asked.elapsed());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut cut = Vec::new();
    for wait in waits {
        cut.push(wait.await.unwrap());
    }
    let (first, last) = (cut.iter().min().unwrap(), cut.iter().max().unwrap());
    println!(
        "200 connections opened in {connected:?}; cut between {first:?} and {last:?} (idle timeout {idle:?}); \
         slowest status request {slowest_http:?}, slowest LDAP bind+search {slowest_ldap:?}"
    );
    assert!(*first >= idle, "none is cut early: {first:?}");
    assert!(
        *last < idle + Duration::from_secs(2),
        "all are cut in time: {last:?}"
    );
    assert!(slowest_http < Duration::from_secs(1) && slowest_ldap < Duration::from_secs(1));
}

/// A self-signed certificate for 127.0.0.1: (certificate PEM, key PEM).
fn certificate() -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

/// An LDAPS client that trusts only `cert_pem`.
async fn ldaps(addr: SocketAddr, cert_pem: &str) -> ldap3::result::Result<Ldap> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(cert_pem.as_bytes()).unwrap())
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let settings = LdapConnSettings::new().set_config(Arc::new(config));
    let (conn, ldap) = LdapConnAsync::with_settings(settings, &format!("ldaps://{addr}")).await?;
    ldap3::drive!(conn);
    Ok(ldap)
}

#[tokio::test]
async fn ldaps_serves_the_domain_certificate_and_a_renewed_one_without_a_restart() {
    let server = TestServer::start_with(|config| {
        config.ldap.ldaps_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    })
    .await;
    let certs = server.data_dir().join("certs/my.example.com");
    std::fs::create_dir_all(&certs).unwrap();
    let (first_cert, first_key) = certificate();
    std::fs::write(certs.join("fullchain.pem"), &first_cert).unwrap();
    std::fs::write(certs.join("privkey.pem"), &first_key).unwrap();
    let owner = server.owner_token().await;
    configure(&server, &owner, true, "127.0.0.1").await;
    listening(&server).await;
    let addr = server
        .state
        .directory_server
        .listening
        .borrow()
        .ldaps
        .unwrap();

    let mut ldap = ldaps(addr, &first_cert).await.unwrap();
    assert_eq!(
        ldap.simple_bind(ADMIN_DN, SECRET).await.unwrap().rc,
        SUCCESS
    );
    let (found, rc) = search(&mut ldap, USERS, Scope::Subtree, "(username=alice)", &[]).await;
    assert_eq!((found.len(), rc), (1, SUCCESS));

    let (second_cert, second_key) = certificate();
    std::fs::write(certs.join("fullchain.pem"), &second_cert).unwrap();
    std::fs::write(certs.join("privkey.pem"), &second_key).unwrap();

    let mut renewed = ldaps(addr, &second_cert).await.unwrap();
    assert_eq!(
        renewed.simple_bind(ADMIN_DN, SECRET).await.unwrap().rc,
        SUCCESS
    );
    assert!(
        ldaps(addr, &first_cert).await.is_err(),
        "the old certificate is no longer served"
    );
    assert_eq!(
        ldap.extended(WhoAmI).await.unwrap().1.rc,
        SUCCESS,
        "open connections go on"
    );
}

/// `boxd serve` as a child process with the directory server's flags, and its log.
struct Boxd {
    child: Child,
    base: String,
    log: Arc<std::sync::Mutex<String>>,
}

impl Boxd {
    fn start(data_dir: &std::path::Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_boxd"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--ldap-listen",
                "127.0.0.1:0",
                "--data-dir",
            ])
            .arg(data_dir)
            .env("RUST_LOG", "trace")
            .env_remove("BOXD_LISTEN")
            .env_remove("BOXD_LDAP_LISTEN")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(std::sync::Mutex::new(String::new()));
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some((_, rest)) = line.split_once("listening on ") {
                    let _ = addr_tx.send(
                        rest.split_whitespace()
                            .next()
                            .unwrap_or_default()
                            .to_owned(),
                    );
                }
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let addr = addr_rx
            .recv_timeout(Duration::from_secs(20))
            .expect("a 'listening on' line");
        Self {
            child,
            base: format!("http://{addr}"),
            log,
        }
    }

    /// The LDAP address from the log, once it is there.
    async fn ldap_addr(&self) -> SocketAddr {
        for _ in 0..100 {
            let log = self.log.lock().unwrap().clone();
            if let Some((_, rest)) = log.split_once("directory server (LDAP) bound to ") {
                return rest.split_whitespace().next().unwrap().parse().unwrap();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the directory server did not log its address");
    }

    fn stop(mut self) -> String {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{status}");
        std::thread::sleep(Duration::from_millis(100));
        self.log.lock().unwrap().clone()
    }
}

#[tokio::test]
async fn no_password_app_password_or_secret_is_logged_at_trace_level() {
    let dir = tempfile::tempdir().unwrap();
    let served = Boxd::start(dir.path());
    let http = crate::support::client();
    let post = |path: &str, token: &str, body: Value| {
        let request = http.post(format!("{}{path}", served.base)).json(&body);
        let request = if token.is_empty() {
            request
        } else {
            request.bearer_auth(token)
        };
        async move {
            let response = request.send().await.unwrap();
            (
                response.status(),
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let user_password = "Canary-Ldap-User-1";
    let wrong = "Canary-Ldap-Wrong-2";
    let wrong_secret = "Canary-Ldap-Secret-3";
    let body =
        json!({"username": "alice", "password": user_password, "email": "alice@example.com"});
    let (_, activated) = post("/api/v1/provision/activate", "", body).await;
    let token = activated["token"].as_str().unwrap().to_owned();
    let (_, app) = post("/api/v1/app_passwords", &token, json!({"name": "nas"})).await;
    let app_password = app["password"].as_str().unwrap().to_owned();
    let config = json!({"enabled": true, "secret": SECRET, "allowlist": "127.0.0.1"});
    assert_eq!(
        post("/api/v1/directory_server/config", &token, config)
            .await
            .0,
        StatusCode::OK
    );
    let url = format!("ldap://{}", served.ldap_addr().await);

    let mut ldap = connect(&url).await;
    for (dn, password, rc) in [
        (ADMIN_DN, wrong_secret, INVALID_CREDENTIALS),
        ("cn=alice,ou=users,dc=cloudron", wrong, INVALID_CREDENTIALS),
        ("cn=alice,ou=users,dc=cloudron", user_password, SUCCESS),
        ("cn=alice,ou=users,dc=cloudron", &app_password, SUCCESS),
        (ADMIN_DN, SECRET, SUCCESS),
    ] {
        assert_eq!(ldap.simple_bind(dn, password).await.unwrap().rc, rc, "{dn}");
    }
    let (found, _) = search(&mut ldap, USERS, Scope::Subtree, "(username=alice)", &[]).await;
    assert_eq!(found.len(), 1);
    // A bind holding a password whose inner length is wrong: framed, but it does not parse.
    let mut garbled = TcpStream::connect(url.trim_start_matches("ldap://"))
        .await
        .unwrap();
    let mut message = vec![0x30, 0x1f, 0x02, 0x01, 0x01, 0x60, 0x30, 0x02, 0x01, 0x03];
    message.extend([0x04, 0x00, 0x80, 0x13]);
    message.extend(wrong.as_bytes());
    assert_eq!(message.len(), 2 + 0x1f);
    garbled.write_all(&message).await.unwrap();
    closed_within(&mut garbled, Duration::from_secs(2)).await;
    let log = served.stop();

    assert!(
        log.contains("failed login for \"alice\" from 127.0.0.1"),
        "failures are logged"
    );
    assert!(log.contains("failed LDAP bind as the directory server admin from 127.0.0.1"));
    for secret in [
        SECRET,
        wrong_secret,
        user_password,
        wrong,
        &app_password,
        &token,
    ] {
        assert!(!log.contains(secret), "the log holds a secret");
        // Raw protocol structures print bytes as numbers: "[67, 97, 110, ...]".
        let bytes = format!("{:?}", secret.as_bytes());
        assert!(
            !log.contains(&bytes[1..bytes.len() - 1]),
            "the log holds a secret's bytes"
        );
    }
}
