//! The unified payment document of GOST R 56042-2014: the text of the QR code on a
//! bank-transfer invoice that Russian banking apps scan to fill in a transfer.
//!
//! `ST0001` (the format and its version), `2` (UTF-8), a separator, then
//! `Key=Value` pairs joined by it: the five required fields (`Name`,
//! `PersonalAcc`, `BankName`, `BIC`, `CorrespAcc`) in that order, then `PayeeINN`,
//! `KPP`, `Sum` (in kopecks) and `Purpose`. The separator is `|` unless a value
//! holds one; then the first of the standard's other separators no value holds.
//! Values longer than the standard allows are cut to its maximum.

/// Who the money goes to: the seller's bank details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payee<'a> {
    pub name: &'a str,
    /// The settlement account (расчётный счёт), 20 digits.
    pub account: &'a str,
    pub bank: &'a str,
    pub bic: &'a str,
    /// The bank's correspondent account, 20 digits.
    pub correspondent_account: &'a str,
    pub inn: &'a str,
    pub kpp: &'a str,
}

/// The separators the standard allows, in the order tried.
const SEPARATORS: &str = "|#;:^_~{}!$%&()*+,/@";

/// The standard's maximum length of each field, in characters.
fn max_len(key: &str) -> usize {
    match key {
        "Name" => 160,
        "PersonalAcc" | "CorrespAcc" => 20,
        "BankName" => 45,
        "BIC" | "KPP" => 9,
        "PayeeINN" => 12,
        "Sum" => 18,
        "Purpose" => 210,
        _ => 160,
    }
}

/// The QR code's text for paying `kopecks` to `payee` for `purpose`. Blank
/// optional fields (an INN or KPP not set) are left out; line breaks and the
/// like in values become spaces.
pub fn payload(payee: &Payee, kopecks: i64, purpose: &str) -> String {
    let sum = kopecks.max(0).to_string();
    let fields = [
        ("Name", payee.name),
        ("PersonalAcc", payee.account),
        ("BankName", payee.bank),
        ("BIC", payee.bic),
        ("CorrespAcc", payee.correspondent_account),
        ("PayeeINN", payee.inn),
        ("KPP", payee.kpp),
        ("Sum", sum.as_str()),
        ("Purpose", purpose),
    ];
    let required = 5;
    let values: Vec<(&str, String)> = fields
        .iter()
        .enumerate()
        .map(|(i, (key, value))| {
            let clean: String = value
                .trim()
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .take(max_len(key))
                .collect();
            (i, *key, clean)
        })
        .filter(|(i, _, value)| *i < required || !value.is_empty())
        .map(|(_, key, value)| (key, value))
        .collect();
    let separator = SEPARATORS
        .chars()
        .find(|s| values.iter().all(|(_, v)| !v.contains(*s)))
        .unwrap_or('|');
    let mut text = format!("ST00012{separator}");
    let pairs: Vec<String> = values.iter().map(|(k, v)| format!("{k}={v}")).collect();
    text.push_str(&pairs.join(&separator.to_string()));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payee() -> Payee<'static> {
        Payee {
            name: "ООО «Копейка»",
            account: "40702810938000000001",
            bank: "ПАО Сбербанк",
            bic: "044525225",
            correspondent_account: "30101810400000000225",
            inn: "7704340310",
            kpp: "770401001",
        }
    }

    #[test]
    fn fields_in_the_standards_order_with_the_sum_in_kopecks() {
        assert_eq!(
            payload(&payee(), 1_980_000, "Оплата по счёту № 2026-000001"),
            "ST00012|Name=ООО «Копейка»|PersonalAcc=40702810938000000001|BankName=ПАО Сбербанк\
             |BIC=044525225|CorrespAcc=30101810400000000225|PayeeINN=7704340310|KPP=770401001\
             |Sum=1980000|Purpose=Оплата по счёту № 2026-000001"
        );
    }

    #[test]
    fn a_separator_no_value_holds_and_blank_optional_fields_left_out() {
        let mut p = payee();
        p.name = "ООО «A|B»";
        p.kpp = "";
        let text = payload(&p, 100, "x");
        assert!(text.starts_with("ST00012#Name=ООО «A|B»#"), "{text}");
        assert!(!text.contains("KPP="));
    }

    #[test]
    fn values_are_cut_to_the_standards_lengths() {
        let long = "Я".repeat(300);
        let text = payload(&payee(), 1, &long);
        let purpose = text.split("Purpose=").nth(1).unwrap();
        assert_eq!(purpose.chars().count(), 210);
        let mut p = payee();
        p.bank = "Публичное акционерное общество «Сбербанк России», г. Москва";
        let text = payload(&p, 1, "x");
        let bank = text
            .split("BankName=")
            .nth(1)
            .unwrap()
            .split('|')
            .next()
            .unwrap();
        assert_eq!(bank.chars().count(), 45);
    }

    #[test]
    fn line_breaks_become_spaces() {
        let text = payload(&payee(), 1, "a\nb|c");
        assert!(text.contains("Purpose=a b|c"), "{text}");
        assert!(text.starts_with("ST00012#"), "{text}");
    }
}
