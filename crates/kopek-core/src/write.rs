//! Every write runs through a [`Write`]: it opens the transaction and, when the
//! request carries an idempotency key, claims the key in that transaction and
//! stores the answer there before committing, so a repeat gets the same answer and
//! the work happens once. The same for every transport (REST, gRPC, the pages).

use crate::audit::Audit;
use crate::limits::RateLimit;
use kopek_domain::auth::Principal;
use kopek_domain::time::Timestamp;
use kopek_domain::{Error, Reason};
use kopek_store::audit as audit_store;
use kopek_store::idempotency::{self, Claim, StoredResponse};
use kopek_store::{Conn, Store, Tx};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::sync::Arc;

pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
const MAX_KEY_LEN: usize = 255;

/// Checks an `Idempotency-Key` that was sent (HTTP header or gRPC metadata): 1 to
/// 255 printable ASCII characters.
pub fn idempotency_key(value: &[u8]) -> Result<String, Error> {
    if !value.is_empty() && value.len() <= MAX_KEY_LEN && value.iter().all(u8::is_ascii_graphic) {
        // Printable ASCII is UTF-8.
        Ok(String::from_utf8_lossy(value).into_owned())
    } else {
        Err(Error::field(
            "Idempotency-Key",
            Reason::Format {
                en: "1 to 255 printable ASCII characters, such as a UUID",
                ru: "строкой из 1–255 печатных символов ASCII, например UUID",
            },
        ))
    }
}

/// A write as idempotency sees it, whatever transport it came by (REST here, gRPC
/// in its own crate): the store, the caller's key if any, and a hash of the request
/// (left empty without a key: nothing compares it then).
pub struct Write {
    store: Store,
    writes: Arc<RateLimit>,
    key: Option<String>,
    hash: String,
    audit: Option<Audit>,
}

pub enum Begun {
    /// The key was used before for this very request: answer with this again.
    Replay(StoredResponse),
    /// Do the work on `conn()`, then commit.
    Work(Work),
}

/// How a write ended: done now (with the response stored for repeats), or a repeat.
pub enum Ran<T> {
    Done(T, StoredResponse),
    Replayed(StoredResponse),
}

impl<T> Ran<T> {
    /// The stored response: the same for a first answer and its repeats.
    pub fn stored(self) -> StoredResponse {
        match self {
            Ran::Done(_, stored) | Ran::Replayed(stored) => stored,
        }
    }

    /// The value, read back from the stored response on a repeat.
    pub fn into_value(self) -> Result<T, Error>
    where
        T: serde::de::DeserializeOwned,
    {
        match self {
            Ran::Done(value, _) => Ok(value),
            Ran::Replayed(stored) => serde_json::from_str(&stored.body).map_err(Error::internal),
        }
    }
}

impl Write {
    pub fn new(
        store: Store,
        writes: Arc<RateLimit>,
        key: Option<String>,
        request_hash: String,
    ) -> Write {
        Write {
            store,
            writes,
            key,
            hash: request_hash,
            audit: None,
        }
    }

    /// Makes the write leave an entry in the audit log, in its own transaction,
    /// with the caller as its actor and the answer as the object after it.
    pub fn audited(mut self, audit: Audit) -> Write {
        self.audit = Some(audit);
        self
    }

    /// The first answer, when this is a repeat whose first request finished; read
    /// before anything is checked, so a retry gets that answer even if what the
    /// first request was checked against (a catalog, an organization) changed since.
    pub async fn replay(&self, caller: &Principal) -> Result<Option<StoredResponse>, Error> {
        let Some(key) = &self.key else {
            return Ok(None);
        };
        let mut conn = self.store.conn().await?;
        match idempotency::recorded(&mut conn, &caller.id, key, &self.hash, Timestamp::now())
            .await?
        {
            Some(Claim::Replay(stored)) => Ok(Some(stored)),
            Some(Claim::Mismatch) => Err(Error::IdempotencyKeyReused),
            Some(Claim::Fresh) | None => Ok(None),
        }
    }

    pub async fn begin(self, caller: &Principal) -> Result<Begun, Error> {
        self.writes.check(&caller.id, Timestamp::now())?;
        let mut tx = self.store.begin().await?;
        let audit = self.audit.map(|audit| Audited {
            actor: caller.id.clone(),
            audit,
            before: None,
        });
        let Some(key) = self.key else {
            return Ok(Begun::Work(Work {
                tx,
                claim: None,
                audit,
            }));
        };
        match idempotency::claim(&mut tx, &caller.id, &key, &self.hash, Timestamp::now()).await? {
            Claim::Fresh => Ok(Begun::Work(Work {
                tx,
                claim: Some((caller.id.clone(), key)),
                audit,
            })),
            Claim::Replay(stored) => {
                // On SQLite the first request's answer may be in the transaction
                // that writers share and not yet committed: the repeat answers it
                // only once that commit is made.
                tx.commit().await?;
                Ok(Begun::Replay(stored))
            }
            Claim::Mismatch => Err(Error::IdempotencyKeyReused),
        }
    }

    pub async fn run<T: Serialize>(
        self,
        caller: &Principal,
        status: u16,
        work: impl AsyncFnOnce(&mut Work) -> Result<T, Error>,
    ) -> Result<Ran<T>, Error> {
        match self.begin(caller).await? {
            Begun::Replay(stored) => Ok(Ran::Replayed(stored)),
            Begun::Work(mut tx) => {
                let answer = work(&mut tx).await?;
                let stored = tx.commit(status, &answer).await?;
                Ok(Ran::Done(answer, stored))
            }
        }
    }
}

impl Write {
    /// [`Write::run`] for a write answered with no content (204).
    pub async fn run_no_content(
        self,
        caller: &Principal,
        work: impl AsyncFnOnce(&mut Work) -> Result<(), Error>,
    ) -> Result<Ran<()>, Error> {
        match self.begin(caller).await? {
            Begun::Replay(stored) => Ok(Ran::Replayed(stored)),
            Begun::Work(mut tx) => {
                work(&mut tx).await?;
                Ok(Ran::Done((), tx.commit_no_content().await?))
            }
        }
    }
}

pub struct Work {
    tx: Tx,
    claim: Option<(String, String)>,
    audit: Option<Audited>,
}

/// The audit entry a write will leave, as far as it is known before the answer.
struct Audited {
    actor: String,
    audit: Audit,
    before: Option<String>,
}

impl Work {
    pub fn conn(&mut self) -> &mut Conn {
        &mut self.tx
    }

    /// Whether the write leaves an entry in the audit log, which then wants the
    /// object as it was before (see [`Work::before`]).
    pub fn audited(&self) -> bool {
        self.audit.is_some()
    }

    /// The object as the API showed it before this write changed it, for the
    /// audit log; `shown` is called only when the write is audited.
    pub fn before<T: Serialize>(&mut self, shown: impl FnOnce() -> T) -> Result<(), Error> {
        if let Some(audited) = &mut self.audit {
            audited.before = Some(serde_json::to_string(&shown()).map_err(Error::internal)?);
        }
        Ok(())
    }

    /// Appends the audit entry, if the write is audited, with the answer stored.
    async fn append_audit(&mut self, stored: &StoredResponse) -> Result<(), Error> {
        let Some(audited) = self.audit.take() else {
            return Ok(());
        };
        let entry = audit_store::NewEntry {
            at: Timestamp::now(),
            actor: audited.actor,
            address: audited.audit.address,
            action: audited.audit.action,
            status: stored.status,
            before_state: audited.before,
            after_state: (!stored.body.is_empty()).then(|| stored.body.clone()),
        };
        audit_store::append(&mut self.tx, entry).await?;
        Ok(())
    }

    /// Stores the response with the key (if any) and commits the work with it.
    pub async fn commit<T: Serialize>(
        self,
        status: u16,
        body: &T,
    ) -> Result<StoredResponse, Error> {
        let body = serde_json::to_string(body).map_err(Error::internal)?;
        self.commit_stored(StoredResponse {
            status,
            content_type: Some("application/json".to_owned()),
            body,
        })
        .await
    }

    /// Like [`Work::commit`], but what is stored for repeats has `secret` null; the
    /// response returned (to this caller only) keeps it.
    pub async fn commit_secret<T: Serialize>(
        mut self,
        status: u16,
        body: &T,
        secret: &str,
    ) -> Result<StoredResponse, Error> {
        let full = serde_json::to_string(body).map_err(Error::internal)?;
        let mut kept = serde_json::to_value(body).map_err(Error::internal)?;
        if let Some(field) = kept.get_mut(secret) {
            *field = serde_json::Value::Null;
        }
        let kept = StoredResponse {
            status,
            content_type: Some("application/json".to_owned()),
            body: kept.to_string(),
        };
        if let Some((caller, key)) = &self.claim {
            idempotency::save(&mut self.tx, caller, key, &kept).await?;
        }
        self.append_audit(&kept).await?;
        self.tx.commit().await?;
        Ok(StoredResponse { body: full, ..kept })
    }

    /// Commits with an empty 204 response.
    pub async fn commit_no_content(self) -> Result<StoredResponse, Error> {
        self.commit_stored(StoredResponse {
            status: 204,
            content_type: None,
            body: String::new(),
        })
        .await
    }

    async fn commit_stored(mut self, stored: StoredResponse) -> Result<StoredResponse, Error> {
        if let Some((caller, key)) = &self.claim {
            idempotency::save(&mut self.tx, caller, key, &stored).await?;
        }
        self.append_audit(&stored).await?;
        self.tx.commit().await?;
        Ok(stored)
    }
}

/// What a repeated request is compared by: method (or RPC), target and body.
pub fn request_hash(method: &str, target: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update(b"\n");
    h.update(target.as_bytes());
    h.update(b"\n");
    h.update(body);
    hex::encode(h.finalize())
}
