//! How Kopek's mails to an organization's billing contact begin and end.

use kopek_domain::lang::Lang;

/// `body` as a mail's text: a greeting before it, Kopek's signature after.
pub(crate) fn letter(lang: Lang, body: &str) -> String {
    let hello = lang.pick("Hello,", "Здравствуйте!");
    let sign = lang.pick("--\nKopek billing", "--\nБиллинг Kopek");
    format!("{hello}\n\n{body}\n\n{sign}\n")
}
