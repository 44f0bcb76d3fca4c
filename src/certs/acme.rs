//! The ACME client side: instant-acme over boxd's own HTTP transport, the account kept in the
//! settings, and one order for a domain from new order to downloaded certificate.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow, bail, ensure};
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, BodyWrapper, BytesResponse, ChallengeType,
    Identifier, NewAccount, NewOrder, Order, OrderStatus, RetryPolicy,
};
use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;

use super::challenges::Challenges;
use super::files::{self, CertInfo};
use crate::clock::iso;
use crate::config::CertConfig;
use crate::outbound::{self, Guard, Guarded, describe};
use crate::settings::{self, Setting};
use crate::tasks::TaskContext;

/// ACME documents and certificate chains are small.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
const VALIDATION_TIMEOUT: Duration = Duration::from_secs(120);
const ISSUANCE_TIMEOUT: Duration = Duration::from_secs(120);
const ACCOUNT_GONE: &str = "urn:ietf:params:acme:error:accountDoesNotExist";

/// instant-acme's transport: reqwest trusting the system roots plus `--acme-ca-file`, with
/// timeouts, a size cap, and every URL the directory names held to the outbound guard (the
/// directory's own host, or https on a public host).
#[derive(Clone)]
pub struct AcmeHttp {
    client: Guarded,
    directory_url: String,
}

impl AcmeHttp {
    pub fn new(config: &CertConfig) -> anyhow::Result<Self> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30));
        if let Some(path) = &config.acme_ca_file {
            let shown = path.display();
            let pem = std::fs::read(path)
                .with_context(|| format!("cannot read --acme-ca-file {shown}"))?;
            let roots = reqwest::Certificate::from_pem_bundle(&pem)
                .with_context(|| format!("--acme-ca-file {shown} is not PEM"))?;
            ensure!(
                !roots.is_empty(),
                "--acme-ca-file {shown} holds no PEM certificate"
            );
            builder = builder.tls_certs_merge(roots);
        }
        let guard = Guard::trusting(&[&config.acme_directory_url]);
        Ok(Self {
            client: Guarded::new(builder, guard)
                .context("cannot build the ACME client (is --acme-ca-file a CA certificate?)")?,
            directory_url: config.acme_directory_url.clone(),
        })
    }

    async fn send(
        &self,
        request: http::Request<BodyWrapper<Bytes>>,
    ) -> Result<BytesResponse, String> {
        let (parts, body) = request.into_parts();
        let url = parts.uri.to_string();
        let request = self.client.request(parts.method, &url).map_err(|why| {
            format!(
                "the ACME server named {}, which is neither on its own host nor an https URL of \
                 a public host: {why}",
                outbound::redact(&url)
            )
        })?;
        let body = match body.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(never) => match never {},
        };
        let response = request
            .headers(parts.headers)
            .body(body)
            .send()
            .await
            .map_err(|err| {
                format!(
                    "cannot reach the ACME server at {}: {}",
                    outbound::redact(&url),
                    describe(err)
                )
            })?;
        let (parts, body) = http::Response::from(response).into_parts();
        let body = Limited::new(body, MAX_RESPONSE_BYTES)
            .collect()
            .await
            .map_err(|err| format!("cannot read the ACME server's answer: {err}"))?
            .to_bytes();
        Ok(BytesResponse {
            parts,
            body: Box::new(body),
        })
    }
}

impl instant_acme::HttpClient for AcmeHttp {
    fn request(
        &self,
        request: http::Request<BodyWrapper<Bytes>>,
    ) -> Pin<Box<dyn Future<Output = Result<BytesResponse, instant_acme::Error>> + Send>> {
        let http = self.clone();
        Box::pin(async move {
            http.send(request)
                .await
                .map_err(|why| instant_acme::Error::Other(why.into()))
        })
    }
}

/// The ACME account: registered once with a directory; its key lives only here, in the store.
#[derive(Default, Serialize, Deserialize)]
struct AcmeAccount {
    directory: String,
    credentials: Option<AccountCredentials>,
}

impl Setting for AcmeAccount {
    const NAME: &'static str = "acme_account";
}

/// A certificate fresh from the CA, checked against its key and domain.
pub(super) struct Issued {
    pub chain_pem: String,
    pub key_pem: String,
    pub info: CertInfo,
}

/// One issuance for `domain`: account, order, challenge, validation, finalization, download.
pub(super) struct Issuance<'a> {
    pub ctx: &'a TaskContext,
    pub db: &'a SqlitePool,
    pub http: &'a AcmeHttp,
    pub challenges: &'a Arc<Challenges>,
    pub domain: &'a str,
    /// The account's contact, if any.
    pub email: Option<String>,
}

impl Issuance<'_> {
    pub async fn run(&self) -> anyhow::Result<Issued> {
        let directory = &self.http.directory_url;
        self.ctx
            .progress(
                10,
                &format!(
                    "Contacting the ACME server at {}",
                    outbound::redact(directory)
                ),
            )
            .await?;
        let account = self.account(false).await?;
        self.ctx
            .progress(20, &format!("Ordering a certificate for {}", self.domain))
            .await?;
        let identifiers = [Identifier::Dns(self.domain.to_owned())];
        let order = match account.new_order(&NewOrder::new(&identifiers)).await {
            Err(instant_acme::Error::Api(problem))
                if problem.r#type.as_deref() == Some(ACCOUNT_GONE) =>
            {
                self.ctx
                    .log("The ACME server no longer knows the account; registering a new one");
                self.account(true)
                    .await?
                    .new_order(&NewOrder::new(&identifiers))
                    .await
            }
            other => other,
        };
        let mut order = order.context("the ACME server refused the order")?;
        let status = order.state().status;
        self.ctx
            .log(&format!("Order {} is {status:?}", order.url()));
        self.validate(&mut order).await?;
        self.finalize(&mut order).await
    }

    /// The stored account for this directory, or a new one (stored before it is used).
    async fn account(&self, fresh: bool) -> anyhow::Result<Account> {
        let directory = self.http.directory_url.clone();
        let builder = || Account::builder_with_http(Box::new(self.http.clone()));
        let stored: AcmeAccount = settings::get(self.db).await?;
        if !fresh
            && stored.directory == directory
            && let Some(credentials) = stored.credentials
        {
            let account = builder()
                .from_credentials(credentials)
                .await
                .context("cannot use the ACME account")?;
            self.ctx
                .log(&format!("Using the ACME account {}", account.id()));
            return Ok(account);
        }
        let contact = self.email.as_ref().map(|email| format!("mailto:{email}"));
        let contacts: Vec<&str> = contact.iter().map(String::as_str).collect();
        self.ctx.log(&format!(
            "Registering an ACME account (contact: {})",
            self.email.as_deref().unwrap_or("none")
        ));
        let new = NewAccount {
            contact: &contacts,
            terms_of_service_agreed: true,
            only_return_existing: false,
        };
        let (account, credentials) = builder()
            .create(&new, directory.clone(), None)
            .await
            .context("cannot register an ACME account")?;
        let stored = AcmeAccount {
            directory,
            credentials: Some(credentials),
        };
        settings::set(self.db, &stored).await?;
        self.ctx
            .log(&format!("Registered the ACME account {}", account.id()));
        Ok(account)
    }

    /// Answers every pending authorization's HTTP-01 challenge and waits for the order to be
    /// ready; the answers are withdrawn when this returns.
    async fn validate(&self, order: &mut Order) -> anyhow::Result<()> {
        self.ctx
            .progress(30, "Answering the HTTP-01 challenge")
            .await?;
        let mut published = Vec::new();
        let mut authorizations = order.authorizations();
        while let Some(authorization) = authorizations.next().await {
            let mut authorization = authorization.context("cannot read the authorization")?;
            match authorization.status {
                AuthorizationStatus::Pending => {}
                AuthorizationStatus::Valid => {
                    self.ctx.log(&format!(
                        "The ACME server already holds a valid authorization for {}",
                        self.domain
                    ));
                    continue;
                }
                status => bail!("the authorization for {} is {status:?}", self.domain),
            }
            let mut challenge =
                authorization
                    .challenge(ChallengeType::Http01)
                    .ok_or_else(|| {
                        anyhow!(
                            "the ACME server offers no HTTP-01 challenge for {}",
                            self.domain
                        )
                    })?;
            let key_authorization = challenge.key_authorization();
            published.push(
                self.challenges
                    .publish(&challenge.token, key_authorization.as_str()),
            );
            self.ctx.log(&format!(
                "Serving http://{}/.well-known/acme-challenge/{}",
                self.domain, challenge.token
            ));
            challenge
                .set_ready()
                .await
                .context("the ACME server did not take the challenge")?;
        }
        self.ctx
            .progress(50, "Waiting for the ACME server to validate the challenge")
            .await?;
        let status = order
            .poll_ready(&RetryPolicy::new().timeout(VALIDATION_TIMEOUT))
            .await
            .with_context(|| format!("the validation of {} failed", self.domain))?;
        drop(published);
        if status != OrderStatus::Ready {
            bail!(
                "the validation of {} failed: {}",
                self.domain,
                why_invalid(order).await
            );
        }
        self.ctx.log("The ACME server validated the challenge");
        Ok(())
    }

    async fn finalize(&self, order: &mut Order) -> anyhow::Result<Issued> {
        self.ctx
            .progress(70, "Finalizing the order with a new ECDSA P-256 key")
            .await?;
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let mut params = rcgen::CertificateParams::new(vec![self.domain.to_owned()])?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        let csr = params.serialize_request(&key)?;
        order
            .finalize_csr(csr.der())
            .await
            .context("the ACME server refused to finalize the order")?;
        self.ctx.progress(85, "Downloading the certificate").await?;
        let chain_pem = order
            .poll_certificate(&RetryPolicy::new().timeout(ISSUANCE_TIMEOUT))
            .await
            .context("cannot download the certificate")?;
        let info = files::inspect(chain_pem.as_bytes())
            .context("the ACME server sent no usable certificate")?;
        ensure!(
            info.dns_names
                .iter()
                .any(|name| name.eq_ignore_ascii_case(self.domain)),
            "the ACME server sent a certificate that is not for {}",
            self.domain
        );
        ensure!(
            info.public_key == rcgen::PublicKeyData::subject_public_key_info(&key),
            "the ACME server sent a certificate for another key"
        );
        self.ctx.log(&format!(
            "Downloaded certificate {} for {}, valid until {}",
            info.serial,
            self.domain,
            iso(info.not_after)
        ));
        Ok(Issued {
            chain_pem,
            key_pem: key.serialize_pem(),
            info,
        })
    }
}

/// The problem an invalid order's challenges report, for the task's error.
async fn why_invalid(order: &mut Order) -> String {
    let mut authorizations = order.authorizations();
    while let Some(Ok(authorization)) = authorizations.next().await {
        if let Some(problem) = authorization
            .challenges
            .iter()
            .find_map(|challenge| challenge.error.as_ref())
        {
            return problem.to_string();
        }
    }
    "the order became invalid".to_owned()
}
