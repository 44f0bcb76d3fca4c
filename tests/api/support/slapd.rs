//! A real LDAP server for the external LDAP tests: Debian's OpenLDAP `slapd` on loopback, on an
//! ephemeral port, with a temporary config (mdb backend; core, cosine, inetorgperson and nis
//! schemas) and a directory loaded from LDIF with `slapadd`; killed on drop. Its service
//! account may read everything, at most 500 entries per search unless the search is paged.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use tempfile::TempDir;

use super::pebble::free_port;
use super::{TestServer, wait_for_task_end};

pub const BASE: &str = "dc=example,dc=com";
pub const PEOPLE: &str = "ou=people,dc=example,dc=com";
pub const GROUPS: &str = "ou=groups,dc=example,dc=com";
pub const SERVICE_DN: &str = "cn=boxd,ou=services,dc=example,dc=com";
pub const SERVICE_PASSWORD: &str = "Service-Bind-Secret-9";
/// What a search of the service account returns at most without the paged-results control.
pub const UNPAGED_LIMIT: usize = 500;
const ROOT_DN: &str = "cn=admin,dc=example,dc=com";
const ROOT_PASSWORD: &str = "Root-Secret-8";

/// Where a Debian package's program is (`slapd` lives in /usr/sbin), or a failure that says
/// which packages to install.
pub fn program(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
        .unwrap_or_else(|| {
            panic!("{name} is missing: these tests need `apt-get install -y slapd ldap-utils`")
        })
}

/// A person entry under `ou=people` (uid, mail, cn and displayName, userPassword).
pub fn person(uid: &str, mail: &str, name: &str, password: &str) -> String {
    let last = name.split_whitespace().last().unwrap_or(uid);
    format!(
        "dn: uid={uid},{PEOPLE}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {name}\nsn: {last}\n\
         displayName: {name}\nmail: {mail}\nuserPassword: {password}\n\n"
    )
}

/// A `groupOfNames` under `ou=groups` listing people by DN (it needs one member at least).
pub fn group_of_names(cn: &str, uids: &[&str]) -> String {
    let members: String = uids
        .iter()
        .map(|uid| format!("member: uid={uid},{PEOPLE}\n"))
        .collect();
    format!("dn: cn={cn},{GROUPS}\nobjectClass: groupOfNames\ncn: {cn}\n{members}\n")
}

/// A `posixGroup` under `ou=groups` listing people by uid.
pub fn posix_group(cn: &str, gid: u32, uids: &[&str]) -> String {
    let members: String = uids
        .iter()
        .map(|uid| format!("memberUid: {uid}\n"))
        .collect();
    format!(
        "dn: cn={cn},{GROUPS}\nobjectClass: posixGroup\ncn: {cn}\ngidNumber: {gid}\n{members}\n"
    )
}

/// The directory passwords of the people of [`staff`].
pub const CAROL_PASSWORD: &str = "Carol-Directory-Pass-1";
pub const DAVE_PASSWORD: &str = "Dave-Directory-Pass-2";
pub const ERIN_PASSWORD: &str = "Erin-Directory-Pass-3";

/// Three people, carol, dave and erin (`<uid>@example.com`), and two groups: `engineering`
/// (groupOfNames: carol, dave) and `ops` (posixGroup: dave, erin).
pub fn staff() -> String {
    [
        person("carol", "carol@example.com", "Carol Jones", CAROL_PASSWORD),
        person("dave", "dave@example.com", "Dave Smith", DAVE_PASSWORD),
        person("erin", "erin@example.com", "Erin Lee", ERIN_PASSWORD),
        group_of_names("engineering", &["carol", "dave"]),
        posix_group("ops", 5000, &["dave", "erin"]),
    ]
    .concat()
}

/// A running slapd.
pub struct Slapd {
    dir: TempDir,
    port: u16,
    process: Option<Child>,
}

impl Slapd {
    /// A server holding the base, `ou=people`, `ou=groups`, the service account and `ldif`.
    pub async fn start(ldif: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("db")).unwrap();
        let schemas: String = ["core", "cosine", "inetorgperson", "nis"]
            .iter()
            .map(|name| format!("include /etc/ldap/schema/{name}.schema\n"))
            .collect();
        let config = format!(
            "{schemas}pidfile {dir}/slapd.pid\nmodulepath /usr/lib/ldap\nmoduleload back_mdb\n\
             database mdb\nmaxsize 104857600\nsuffix \"{BASE}\"\nrootdn \"{ROOT_DN}\"\n\
             rootpw {ROOT_PASSWORD}\ndirectory {dir}/db\n\
             limits dn.exact=\"{SERVICE_DN}\" size.soft={UNPAGED_LIMIT} size.hard={UNPAGED_LIMIT} size.prtotal=unlimited\n\
             access to attrs=userPassword by self auth by anonymous auth by * none\n\
             access to * by dn.exact=\"{SERVICE_DN}\" read by * none\n",
            dir = dir.path().display()
        );
        std::fs::write(dir.path().join("slapd.conf"), config).unwrap();
        let base = format!(
            "dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n\n\
             dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people\n\n\
             dn: {GROUPS}\nobjectClass: organizationalUnit\nou: groups\n\n\
             dn: ou=services,{BASE}\nobjectClass: organizationalUnit\nou: services\n\n\
             dn: {SERVICE_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n\
             cn: boxd\nuserPassword: {SERVICE_PASSWORD}\n\n{ldif}"
        );
        std::fs::write(dir.path().join("data.ldif"), base).unwrap();
        let loaded = Command::new(program("slapadd"))
            .arg("-f")
            .arg(dir.path().join("slapd.conf"))
            .arg("-l")
            .arg(dir.path().join("data.ldif"))
            .output()
            .unwrap();
        assert!(
            loaded.status.success(),
            "slapadd failed: {}",
            String::from_utf8_lossy(&loaded.stderr)
        );
        let mut slapd = Self {
            dir,
            port: free_port(),
            process: None,
        };
        slapd.run().await;
        slapd
    }

    /// Starts slapd over the data it has; answers once it accepts connections.
    pub async fn run(&mut self) {
        let log = std::fs::File::create(self.dir.path().join("slapd.log")).unwrap();
        let mut process = Command::new(program("slapd"))
            .arg("-f")
            .arg(self.dir.path().join("slapd.conf"))
            .args(["-h", &self.url(), "-d", "0"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let started = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .is_err()
        {
            let log = || std::fs::read_to_string(self.dir.path().join("slapd.log")).unwrap();
            if let Some(status) = process.try_wait().unwrap() {
                panic!("slapd exited with {status}: {}", log());
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "slapd did not start: {}",
                log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.process = Some(process);
    }

    /// Kills slapd; its data stays for [`Slapd::run`], its port free for another listener.
    pub fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.kill().unwrap();
            process.wait().unwrap();
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    /// The body of `/external_ldap/config` for this server, users and groups.
    pub fn config(&self) -> Value {
        json!({
            "provider": "other",
            "url": self.url(),
            "baseDn": PEOPLE,
            "usernameField": "uid",
            "filter": "(objectclass=inetOrgPerson)",
            "groupBaseDn": GROUPS,
            "bindDn": SERVICE_DN,
            "bindPassword": SERVICE_PASSWORD,
        })
    }

    /// Applies an LDIF of changes (`changetype: modify`, `delete`, ...) as the root DN.
    pub fn modify(&self, ldif: &str) {
        self.ldapmodify(ldif, &[]);
    }

    /// Adds the entries of an LDIF as the root DN.
    pub fn add(&self, ldif: &str) {
        self.ldapmodify(ldif, &["-a"]);
    }

    fn ldapmodify(&self, ldif: &str, more: &[&str]) {
        let file = self.dir.path().join("change.ldif");
        std::fs::write(&file, ldif).unwrap();
        let done = Command::new(program("ldapmodify"))
            .args(["-x", "-H", &self.url(), "-D", ROOT_DN, "-w", ROOT_PASSWORD])
            .args(more)
            .arg("-f")
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            done.status.success(),
            "ldapmodify failed: {}",
            String::from_utf8_lossy(&done.stderr)
        );
    }

    /// The entries a search of `ou=people` as the service account returns, with paging or
    /// without, and whether the server said its size limit was reached.
    pub fn count_people(&self, paged: bool) -> (usize, bool) {
        let mut search = Command::new(program("ldapsearch"));
        search.args(["-x", "-LLL", "-H", &self.url(), "-D", SERVICE_DN, "-w"]);
        search.args([SERVICE_PASSWORD, "-b", PEOPLE]);
        if paged {
            search.args(["-E", "pr=500/noprompt"]);
        }
        let done = search
            .args(["(objectclass=inetOrgPerson)", "1.1"])
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&done.stdout);
        let entries = out.lines().filter(|line| line.starts_with("dn: ")).count();
        (entries, done.status.code() == Some(4))
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Saves `slapd`'s config on `server` and runs a sync to its end; answers the finished task.
pub async fn configure_and_sync(server: &TestServer, token: &str, slapd: &Slapd) -> Value {
    let (code, body) = server
        .post("/api/v1/external_ldap/config", token, slapd.config())
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    sync(server, token).await
}

/// Runs a sync to its end; answers the finished task.
pub async fn sync(server: &TestServer, token: &str) -> Value {
    let (code, started) = server
        .post("/api/v1/external_ldap/sync", token, json!({}))
        .await;
    assert_eq!(code, StatusCode::ACCEPTED, "{started}");
    let id = started["taskId"].as_str().unwrap();
    wait_for_task_end(server, token, id, Duration::from_secs(60)).await
}

/// A server that accepts connections and never answers, holding them open; stops on drop.
pub struct Silent {
    port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl Silent {
    /// Listens on `port` of 127.0.0.1 (e.g. where a stopped slapd was; 0 for any).
    pub async fn start(port: u16) -> Self {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        Self { port, task }
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for Silent {
    fn drop(&mut self) {
        self.task.abort();
    }
}
