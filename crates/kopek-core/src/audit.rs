//! Who changed what: every change made through the admin API is an entry in the
//! audit log, written in the change's own transaction (so there is no change
//! without its entry, nor an entry for a change rolled back), and the log is a
//! hash chain that [`verify`] walks.

use crate::Core;
use kopek_domain::Error;
use kopek_domain::time::Timestamp;
use kopek_store::audit::{self, Entry, Filter, GENESIS, Head};
use kopek_store::event_chain::{self, Sealed};
use std::fmt;

/// What an audited request is, apart from who sent it (known once it is
/// authenticated): where it came from and what it asked.
#[derive(Debug, Clone)]
pub struct Audit {
    pub address: Option<String>,
    /// Method and target, such as `POST /admin/v1/api-keys/key_1:revoke`.
    pub action: String,
}

/// A link of the chain that does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Break {
    /// The entry's content is not what its hash was made from: it was changed.
    Altered { seq: i64 },
    /// The entry does not follow the one before it: that one was changed and its
    /// hash made anew, or this one was put in.
    Unlinked { seq: i64 },
    /// Entries between two that are there are gone.
    Missing { from: i64, to: i64 },
    /// The chain ends before its recorded end: its last entries are gone.
    CutShort { from: i64, to: i64 },
    /// The last entry is not the one the chain's end records: it was replaced.
    LastReplaced { seq: i64 },
}

impl Break {
    /// The first position the break concerns.
    pub fn seq(&self) -> i64 {
        match self {
            Break::Altered { seq } | Break::Unlinked { seq } | Break::LastReplaced { seq } => *seq,
            Break::Missing { from, .. } | Break::CutShort { from, .. } => *from,
        }
    }
}

impl fmt::Display for Break {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Break::Altered { seq } => write!(f, "entry {seq} was changed after it was written"),
            Break::Unlinked { seq } => write!(
                f,
                "entry {seq} does not follow the entry before it (that one was changed, or \
                 this one put in)"
            ),
            Break::Missing { from, to } if from == to => write!(f, "entry {from} was removed"),
            Break::Missing { from, to } => write!(f, "entries {from} to {to} were removed"),
            Break::LastReplaced { seq } => write!(f, "the last entry, {seq}, was replaced"),
            Break::CutShort { from, to } => {
                write!(f, "entries {from} to {to}, the last ones, were removed")
            }
        }
    }
}

/// What a walk of the chain found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Entries read.
    pub entries: i64,
    /// Every link that does not hold, in the chain's order.
    pub breaks: Vec<Break>,
    /// The last position up to which the chain is whole.
    pub whole_to: i64,
}

/// Entries read at once while walking.
const PAGE: i64 = 1000;

/// A link of a hash chain, as a walk reads it.
trait Link {
    fn seq(&self) -> i64;
    fn prev_hash(&self) -> &str;
    fn hash(&self) -> &str;
    /// What the hash must be for the link's content.
    fn content_hash(&self) -> String;
}

/// The chains' links keep their place and hashes in fields of the same names.
macro_rules! link {
    ($($t:ty),+) => {$(
        impl Link for $t {
            fn seq(&self) -> i64 {
                self.seq
            }
            fn prev_hash(&self) -> &str {
                &self.prev_hash
            }
            fn hash(&self) -> &str {
                &self.hash
            }
            fn content_hash(&self) -> String {
                self.link_hash()
            }
        }
    )+};
}

link!(Entry, Sealed);

/// Walks a chain up to its recorded end `head`, reading it a page at a time
/// after a position, and names every link that does not hold. Links added
/// meanwhile are left for the next walk.
async fn walk<L: Link>(
    head: &Head,
    mut after: impl AsyncFnMut(i64) -> Result<Vec<L>, Error>,
) -> Result<Verdict, Error> {
    let mut walk = Walk::default();
    loop {
        let page = after(walk.last_seq).await?;
        let done = i64::try_from(page.len()).unwrap_or(PAGE) < PAGE;
        for link in page.iter().filter(|l| l.seq() <= head.seq) {
            walk.step(link);
        }
        if done || page.last().is_none_or(|l| l.seq() >= head.seq) {
            break;
        }
    }
    Ok(walk.end(head.seq, &head.hash))
}

/// Walks the audit log's chain, names every link that does not hold, and records
/// how far it is whole (for `/metrics`).
pub async fn verify(core: &Core) -> Result<Verdict, Error> {
    let mut conn = core.store.conn().await?;
    let head = audit::head(&mut conn).await?;
    let verdict = walk(&head, async |last| {
        audit::after(&mut conn, last, PAGE).await
    })
    .await?;
    audit::mark_verified(&mut conn, verdict.whole_to, Timestamp::now()).await?;
    Ok(verdict)
}

/// Seals every event not sealed yet, a batch a transaction; returns how many.
pub async fn seal_events(core: &Core) -> Result<usize, Error> {
    let mut sealed = 0;
    loop {
        let mut tx = core.store.begin().await?;
        let batch = event_chain::seal(&mut tx, PAGE).await?;
        tx.commit().await?;
        sealed += batch;
        if i64::try_from(batch).unwrap_or(PAGE) < PAGE {
            return Ok(sealed);
        }
    }
}

/// Seals the events waiting, then walks the events' chain as [`verify`] walks
/// the audit log's.
pub async fn verify_events(core: &Core) -> Result<Verdict, Error> {
    seal_events(core).await?;
    let mut conn = core.store.conn().await?;
    let head = event_chain::head(&mut conn).await?;
    let verdict = walk(&head, async |last| {
        event_chain::after(&mut conn, last, PAGE).await
    })
    .await?;
    event_chain::mark_verified(&mut conn, verdict.whole_to, Timestamp::now()).await?;
    Ok(verdict)
}

/// A page of the log, newest first, before position `before`.
pub async fn newest(
    core: &Core,
    before: Option<i64>,
    filter: &Filter,
    limit: i64,
) -> Result<Vec<Entry>, Error> {
    let mut conn = core.store.conn().await?;
    audit::newest(&mut conn, before, filter, limit).await
}

/// The chain's recorded end and how far it was last found whole.
pub async fn head(core: &Core) -> Result<Head, Error> {
    let mut conn = core.store.conn().await?;
    audit::head(&mut conn).await
}

/// The events' chain's recorded end and how far it was last found whole.
pub async fn event_head(core: &Core) -> Result<Head, Error> {
    let mut conn = core.store.conn().await?;
    event_chain::head(&mut conn).await
}

#[derive(Default)]
struct Walk {
    entries: i64,
    last_seq: i64,
    last_hash: Option<String>,
    breaks: Vec<Break>,
    whole_to: i64,
}

impl Walk {
    fn step(&mut self, link: &impl Link) {
        let seq = link.seq();
        let expected = self.last_seq + 1;
        let prev = self.last_hash.as_deref().unwrap_or(GENESIS);
        if seq > expected {
            self.breaks.push(Break::Missing {
                from: expected,
                to: seq - 1,
            });
        } else if link.prev_hash() != prev {
            self.breaks.push(Break::Unlinked { seq });
        }
        if link.content_hash() != link.hash() {
            self.breaks.push(Break::Altered { seq });
        }
        if self.breaks.is_empty() {
            self.whole_to = seq;
        }
        self.entries += 1;
        self.last_seq = seq;
        self.last_hash = Some(link.hash().to_owned());
    }

    fn end(mut self, head_seq: i64, head_hash: &str) -> Verdict {
        let last_hash = self.last_hash.as_deref().unwrap_or(GENESIS);
        if head_seq > self.last_seq {
            self.breaks.push(Break::CutShort {
                from: self.last_seq + 1,
                to: head_seq,
            });
        } else if head_hash != last_hash {
            self.breaks.push(Break::LastReplaced { seq: head_seq });
            self.whole_to = self.whole_to.min(head_seq - 1);
        }
        Verdict {
            entries: self.entries,
            breaks: self.breaks,
            whole_to: self.whole_to,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<Entry> {
        let mut prev = GENESIS.to_owned();
        (1..=n)
            .map(|seq| {
                let mut e = Entry {
                    seq,
                    at: Timestamp::from_micros(seq * 1_000_000),
                    actor: "key_admin".into(),
                    address: Some("127.0.0.1".into()),
                    action: format!("POST /admin/v1/things/{seq}"),
                    status: 200,
                    before_state: None,
                    after_state: Some(format!("{{\"n\":{seq}}}")),
                    prev_hash: prev.clone(),
                    hash: String::new(),
                };
                e.hash = e.link_hash();
                prev = e.hash.clone();
                e
            })
            .collect()
    }

    fn walk(entries: &[Entry], head_seq: i64, head_hash: &str) -> Verdict {
        let mut walk = Walk::default();
        for e in entries {
            walk.step(e);
        }
        walk.end(head_seq, head_hash)
    }

    fn whole(entries: &[Entry]) -> Verdict {
        let last = entries.last().expect("entries");
        walk(entries, last.seq, &last.hash)
    }

    #[test]
    fn an_untouched_chain_is_whole() {
        let c = chain(5);
        let v = whole(&c);
        assert_eq!(v.breaks, vec![]);
        assert_eq!((v.entries, v.whole_to), (5, 5));
        assert_eq!(walk(&[], 0, GENESIS).breaks, vec![]);
    }

    #[test]
    fn a_changed_entry_is_named() {
        let mut c = chain(5);
        c[2].after_state = Some("{\"n\":300}".into());
        let v = whole(&c);
        assert_eq!(v.breaks, vec![Break::Altered { seq: 3 }]);
        assert_eq!(v.whole_to, 2);
        // Its hash made anew: the next entry no longer follows it.
        c[2].hash = c[2].link_hash();
        assert_eq!(whole(&c).breaks, vec![Break::Unlinked { seq: 4 }]);
    }

    #[test]
    fn a_removed_entry_is_named() {
        let mut c = chain(5);
        let head = c[4].clone();
        c.remove(1);
        let v = walk(&c, head.seq, &head.hash);
        assert_eq!(v.breaks, vec![Break::Missing { from: 2, to: 2 }]);
        assert_eq!(v.breaks[0].to_string(), "entry 2 was removed");
        assert_eq!(v.whole_to, 1);
        // Cut from the end: the head still says five.
        let c = chain(5);
        let v = walk(&c[..3], head.seq, &head.hash);
        assert_eq!(v.breaks, vec![Break::CutShort { from: 4, to: 5 }]);
        assert_eq!(v.whole_to, 3);
    }

    #[test]
    fn every_field_is_in_the_hash() {
        let c = chain(1);
        let changes: [fn(&mut Entry); 8] = [
            |e| e.seq = 9,
            |e| e.at = Timestamp::from_micros(7),
            |e| e.actor.push('x'),
            |e| e.address = None,
            |e| e.action.push('x'),
            |e| e.status = 201,
            |e| e.before_state = Some(String::new()),
            |e| e.prev_hash = "1".repeat(64),
        ];
        for change in changes {
            let mut e = c[0].clone();
            change(&mut e);
            assert_ne!(e.link_hash(), e.hash, "{e:?}");
        }
    }
}
