//! Webhooks as the Standard Webhooks specification (1.0) has them: a `whsec_`
//! secret of 256 random bits, the signature over `id.timestamp.body`, and what
//! Kopek requires of a receiver's URL (https, a public address).

use crate::error::{FieldError, Reason};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The prefix the specification gives secrets.
pub const SECRET_PREFIX: &str = "whsec_";

/// A signing secret: the key's base64 behind `whsec_`, as receivers configure it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl Secret {
    pub fn generate() -> Secret {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        Secret(format!("{SECRET_PREFIX}{}", STANDARD.encode(key)))
    }

    /// A secret as stored; `None` unless it is `whsec_` and base64.
    pub fn parse(text: &str) -> Option<Secret> {
        let key = text.strip_prefix(SECRET_PREFIX)?;
        STANDARD.decode(key).ok().filter(|k| !k.is_empty())?;
        Some(Secret(text.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    fn key(&self) -> Vec<u8> {
        // `parse` and `generate` made sure the tail decodes.
        STANDARD
            .decode(&self.0[SECRET_PREFIX.len()..])
            .unwrap_or_default()
    }

    /// One `v1,<base64 HMAC-SHA256>` entry of the `webhook-signature` header.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let tag = crate::mac::sign(
            &self.key(),
            &[
                id.as_bytes(),
                b".",
                timestamp.to_string().as_bytes(),
                b".",
                body,
            ],
        );
        format!("v1,{}", STANDARD.encode(tag))
    }
}

/// The `webhook-signature` header: one entry per secret in force, space-separated.
pub fn signature_header(secrets: &[&Secret], id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets
        .iter()
        .map(|s| s.sign(id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every event type Kopek writes: its name, its subject, and when it happens. The
/// README's table and the OpenAPI document are made from this list.
pub const EVENT_TYPES: &[(&str, &str, &str)] = &[
    (
        "invoice.created",
        "invoice",
        "An invoice was issued (LIFE POS SubscriptionCreateInvoice).",
    ),
    (
        "invoice.paid",
        "invoice",
        "An invoice was paid (card page, provider, or the operator's :pay).",
    ),
    (
        "invoice.canceled",
        "invoice",
        "An unpaid invoice was canceled.",
    ),
    (
        "invoice.refunded",
        "invoice",
        "A paid invoice was refunded.",
    ),
    (
        "license.extended",
        "license",
        "A payment started or extended an organization's license for a product.",
    ),
    (
        "subscription.created",
        "subscription",
        "The first payment for a product made the organization's subscription to it.",
    ),
    (
        "subscription.renewed",
        "subscription",
        "A later payment moved a subscription on by a period, from the end of the running one.",
    ),
    (
        "subscription.renewal_invoiced",
        "subscription",
        "The scheduler issued the invoice for a subscription's next period.",
    ),
    (
        "subscription.reminder_sent",
        "subscription",
        "The renewal invoice was still unpaid 3 days, then 1 day, before the period's end; the billing contact was mailed.",
    ),
    (
        "subscription.past_due",
        "subscription",
        "The period ended unpaid; the license stays usable for the grace days.",
    ),
    (
        "subscription.expired",
        "subscription",
        "The grace days passed unpaid; the renewal invoice was canceled.",
    ),
    (
        "subscription.canceled",
        "subscription",
        "A subscription was canceled: at once, or at its period's end as asked.",
    ),
    (
        "subscription.cancel_scheduled",
        "subscription",
        "A subscription was set to end with its period (no more renewals).",
    ),
    (
        "subscription.resumed",
        "subscription",
        "A cancel at the period's end was taken back; renewals go on.",
    ),
    (
        "subscription.plan_changed",
        "subscription",
        "An upgrade was paid and took effect, or a downgrade was set for the period's end.",
    ),
    (
        "customer.invited",
        "customer",
        "A reseller invited a customer (Yandex Customer.Invite).",
    ),
    (
        "customer.created",
        "customer",
        "A reseller created a customer it serves (CreateResellerServed).",
    ),
    (
        "customer.accepted",
        "customer",
        "An invited customer accepted the invitation.",
    ),
    (
        "customer.activated",
        "customer",
        "A customer was activated.",
    ),
    (
        "customer.suspended",
        "customer",
        "A customer was suspended.",
    ),
    (
        "customer.invitation_resent",
        "customer",
        "A customer's invitation was sent again.",
    ),
    (
        "user.created",
        "user",
        "An outside billing system provisioned a user (AIPIX).",
    ),
    (
        "user.updated",
        "user",
        "A user was changed (also blocked or unblocked).",
    ),
    ("user.deleted", "user", "A user was deleted."),
    (
        "organization.created",
        "organization",
        "The operator created an organization.",
    ),
    (
        "organization.updated",
        "organization",
        "The operator changed an organization's billing contact or language.",
    ),
    (
        "organization.member_added",
        "organization",
        "A user became a member of an organization.",
    ),
    (
        "webhook_endpoint.disabled",
        "webhook_endpoint",
        "Every delivery to an endpoint failed for the retry window, so it was disabled.",
    ),
];

/// Whether `pattern` names an event type or a group of them: `*`, a type, or a
/// prefix ending in a dot that some type has.
pub fn is_event_pattern(pattern: &str) -> bool {
    pattern == "*"
        || EVENT_TYPES
            .iter()
            .any(|(t, ..)| *t == pattern || (pattern.ends_with('.') && t.starts_with(pattern)))
}

/// Which events an endpoint takes: every one (`*`), an exact type, or every type
/// under a prefix ending in a dot (`invoice.`).
pub fn wants(event_types: &[String], event_type: &str) -> bool {
    event_types.iter().any(|t| {
        t == "*" || t == event_type || (t.ends_with('.') && event_type.starts_with(t.as_str()))
    })
}

/// Whether an address is one a webhook may be sent to: not loopback, private,
/// link-local (cloud metadata lives there), shared, documentation, multicast or
/// otherwise reserved.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        // Shared address space (carrier-grade NAT), 100.64.0.0/10.
        || (a == 100 && (64..128).contains(&b))
        // IETF protocol assignments, 192.0.0.0/24, and benchmarking, 198.18.0.0/15.
        || (a == 192 && b == 0 && ip.octets()[2] == 0)
        || (a == 198 && (18..20).contains(&b))
        // Reserved for future use, 240.0.0.0/4.
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        // Unique local, fc00::/7; link-local, fe80::/10; documentation, 2001:db8::/32.
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || (first == 0x2001 && ip.segments()[1] == 0x0db8)
        // IPv4-compatible and NAT64 forms carry an IPv4 address of any kind.
        || (first == 0 && ip.segments()[1..6].iter().all(|s| *s == 0))
        || (first == 0x0064 && ip.segments()[1] == 0xff9b))
}

/// The checks a URL must pass when an endpoint is made or changed: an absolute
/// `https` URL with a host, no credentials, no control characters (which the URL
/// parser would silently drop), at most 2000 characters; with
/// `allow_private`, `http` too. Where its host resolves is checked again at each
/// delivery.
pub fn check_url(field: &str, url: &str, allow_private: bool) -> Result<url::Url, FieldError> {
    let bad =
        |en: &'static str, ru: &'static str| FieldError::new(field, Reason::Format { en, ru });
    if url.chars().count() > 2000 {
        return Err(FieldError::new(field, Reason::TooLong { max: 2000 }));
    }
    crate::text::line(field, url)?;
    let parsed = url::Url::parse(url).map_err(|_| {
        bad(
            "an absolute URL such as https://example.com/webhooks",
            "абсолютным URL, например https://example.com/webhooks",
        )
    })?;
    let scheme_ok = parsed.scheme() == "https" || (allow_private && parsed.scheme() == "http");
    if !scheme_ok {
        return Err(bad("an https:// URL", "URL со схемой https://"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad(
            "a URL without user name or password",
            "URL без имени пользователя и пароля",
        ));
    }
    let host_ok = match parsed.host() {
        None => false,
        Some(url::Host::Domain(name)) => {
            allow_private
                || !(name.eq_ignore_ascii_case("localhost") || name.ends_with(".localhost"))
        }
        Some(url::Host::Ipv4(ip)) => allow_private || is_public(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => allow_private || is_public(IpAddr::V6(ip)),
    };
    if !host_ok {
        return Err(bad(
            "a URL of a public host (not loopback, private, link-local or metadata)",
            "URL публичного узла (не loopback, не частная, не link-local и не адрес метаданных)",
        ));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_follow_the_specification() {
        // The example of the Standard Webhooks specification.
        let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        let other = Secret::generate();
        let header = signature_header(&[&secret, &other], "id", 1, b"x");
        assert_eq!(header.split(' ').count(), 2);
        assert!(header.starts_with("v1,"));
    }

    #[test]
    fn secrets_are_256_bits_in_base64_and_never_printed() {
        let s = Secret::generate();
        assert!(s.expose().starts_with(SECRET_PREFIX));
        assert_eq!(s.key().len(), 32);
        assert_ne!(Secret::generate(), s);
        assert_eq!(format!("{s:?}"), "Secret(…)");
        assert!(Secret::parse("whsec_").is_none());
        assert!(Secret::parse("abc").is_none());
        assert!(Secret::parse("whsec_!!").is_none());
    }

    #[test]
    fn event_patterns_name_known_types() {
        assert!(is_event_pattern("*"));
        assert!(is_event_pattern("invoice."));
        assert!(is_event_pattern("customer.accepted"));
        assert!(!is_event_pattern("invoice"));
        assert!(!is_event_pattern("invoice.lost"));
        assert!(!is_event_pattern("nothing."));
    }

    #[test]
    fn event_types_match_exactly_by_prefix_or_all() {
        let t = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(wants(&t(&["*"]), "invoice.paid"));
        assert!(wants(&t(&["invoice."]), "invoice.paid"));
        assert!(wants(&t(&["invoice.paid"]), "invoice.paid"));
        assert!(!wants(&t(&["invoice.paid"]), "invoice.created"));
        assert!(!wants(&t(&["invoice"]), "invoice.paid"));
        assert!(!wants(&t(&[]), "invoice.paid"));
    }

    #[test]
    fn only_public_addresses_pass() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "2001:db8::1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["8.8.8.8", "77.88.8.8", "2a02:6b8::2:242", "::ffff:8.8.8.8"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn urls_are_https_to_public_hosts_unless_private_is_allowed() {
        assert!(check_url("url", "https://hooks.example.com/kopek", false).is_ok());
        for refused in [
            "http://hooks.example.com/",
            "https://127.0.0.1/hook",
            "https://[::1]/hook",
            "https://169.254.169.254/latest/meta-data",
            "https://localhost:8443/",
            "https://user:pw@hooks.example.com/",
            "ftp://example.com/",
            "not a url",
            "https://hooks.example.com/\tkopek",
            "https://hooks.example\n.com/",
        ] {
            assert!(check_url("url", refused, false).is_err(), "{refused}");
        }
        assert!(check_url("url", "http://127.0.0.1:9000/hook", true).is_ok());
        assert!(
            check_url(
                "url",
                &format!("https://a.example/{}", "x".repeat(2000)),
                false
            )
            .is_err()
        );
    }
}
