//! Bank statements in the 1C exchange format every Russian bank exports
//! (`1CClientBankExchange`, «Формат обмена данными 1С:Предприятие с системой
//! Клиент банка», versions 1.01 to 1.03), and the rule that matches an incoming
//! payment order to an invoice.
//!
//! The file is `Key=Value` lines (split at the first `=`) in windows-1251 (the
//! header's `Кодировка=Windows`), cp866 (`DOS`) or UTF-8, with any line ending:
//! a header, a `СекцияРасчСчет` … `КонецРасчСчет` block per account, a
//! `СекцияДокумент=<kind>` … `КонецДокумента` block per document, and
//! `КонецФайла`. Amounts are exact: decimal strings into kopecks. Banks add
//! document kinds and keys of their own (`Банковский ордер`, empty values), which
//! are kept or skipped, never refused.

use crate::time::{Timestamp, ru_date};
use time::{Date, Month};

/// One document of a statement: a payment order (or another kind the bank lists).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentOrder {
    /// The line of the file its section starts on.
    pub line: usize,
    /// `Платежное поручение`, `Банковский ордер`, …
    pub kind: String,
    pub number: String,
    pub date: Date,
    pub kopecks: i64,
    pub payer_account: String,
    pub payer_inn: String,
    pub payer_name: String,
    pub payee_account: String,
    pub payee_inn: String,
    pub purpose: String,
    /// When the money arrived (`ДатаПоступило`), for an incoming one.
    pub received_on: Option<Date>,
}

impl PaymentOrder {
    /// What identifies the order across statements (overlapping periods repeat
    /// documents; the format has no id): number, date, amount and both accounts.
    pub fn key(&self) -> String {
        format!(
            "{}|{}|{}|{}|{}",
            self.number, self.date, self.kopecks, self.payer_account, self.payee_account
        )
    }

    /// `п/п № 417 от 12.03.2026`: the reference a payment records.
    pub fn reference(&self) -> String {
        format!("п/п № {} от {}", self.number, ru_date(self.date))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The statement's own accounts (`РасчСчет`): money paid to one is incoming.
    pub accounts: Vec<String>,
    pub from: Option<Date>,
    pub to: Option<Date>,
    pub documents: Vec<PaymentOrder>,
}

impl Statement {
    /// Whether the order pays money into one of the statement's accounts.
    pub fn is_incoming(&self, order: &PaymentOrder) -> bool {
        self.accounts.contains(&order.payee_account)
    }
}

/// Why a file is not a statement, with the line where that shows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {what}")]
pub struct ParseError {
    pub line: usize,
    pub what: String,
}

fn error(line: usize, what: impl Into<String>) -> ParseError {
    ParseError {
        line,
        what: what.into(),
    }
}

/// The file as text: UTF-8 when it is (with or without a byte order mark),
/// otherwise windows-1251 or cp866, whichever its `Кодировка` line (`Windows`,
/// `DOS`) can be read in and names.
pub fn decode(bytes: &[u8]) -> Result<String, ParseError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(text.to_owned());
    }
    for (encoding, name) in [
        (encoding_rs::WINDOWS_1251, "Windows"),
        (encoding_rs::IBM866, "DOS"),
    ] {
        let text = encoding.decode(bytes).0;
        let named = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("Кодировка="))
            .map(str::trim);
        match named {
            Some(n) if n == name => return Ok(text.into_owned()),
            Some(other) if encoding == encoding_rs::WINDOWS_1251 && other != "DOS" => {
                return Err(error(
                    1,
                    format!(
                        "Кодировка={other}: the format has Windows (windows-1251) and DOS (cp866)"
                    ),
                ));
            }
            _ => {}
        }
    }
    Err(error(
        1,
        "neither UTF-8 nor the windows-1251 or cp866 its Кодировка line names",
    ))
}

/// `dd.mm.yyyy`.
fn parse_date(text: &str) -> Option<Date> {
    let mut parts = text.trim().splitn(3, '.');
    let day: u8 = parts.next()?.parse().ok()?;
    let month: u8 = parts.next()?.parse().ok()?;
    let year: i32 = parts.next()?.parse().ok()?;
    Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()
}

/// An amount in roubles with a decimal point (`12000.00`, `4500.5`), in kopecks;
/// never through a float.
pub fn kopecks(text: &str) -> Option<i64> {
    crate::money::parse_decimal(text.trim(), 2)
}

/// The keys of one document, as read, each with its line.
struct Fields {
    line: usize,
    kind: String,
    values: Vec<(String, String, usize)>,
}

impl Fields {
    fn get(&self, key: &str) -> &str {
        self.values
            .iter()
            .find(|(k, _, _)| k == key)
            .map_or("", |(_, v, _)| v.as_str())
    }

    /// The line of `key`, or of the document's start when it has none.
    fn line_of(&self, key: &str) -> usize {
        self.values
            .iter()
            .find(|(k, _, _)| k == key)
            .map_or(self.line, |(_, _, n)| *n)
    }

    fn order(&self) -> Result<PaymentOrder, ParseError> {
        let required = |key: &str| {
            let v = self.get(key);
            if v.is_empty() {
                Err(error(self.line, format!("the document has no {key}")))
            } else {
                Ok(v)
            }
        };
        let amount = required("Сумма")?;
        let kopecks = kopecks(amount).ok_or_else(|| {
            error(
                self.line_of("Сумма"),
                format!("Сумма={amount}: not an amount in roubles with a decimal point"),
            )
        })?;
        let on = required("Дата")?;
        let date = parse_date(on).ok_or_else(|| {
            error(
                self.line_of("Дата"),
                format!("Дата={on}: not a date dd.mm.yyyy"),
            )
        })?;
        let or = |a: &str, b: &str| {
            let v = self.get(a);
            if v.is_empty() { self.get(b) } else { v }.to_owned()
        };
        // The purpose may be split over НазначениеПлатежа1..6 by older clients.
        let mut purpose = self.get("НазначениеПлатежа").to_owned();
        if purpose.is_empty() {
            purpose = (1..=6)
                .map(|i| self.get(&format!("НазначениеПлатежа{i}")))
                .filter(|p| !p.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
        }
        Ok(PaymentOrder {
            line: self.line,
            kind: self.kind.clone(),
            number: required("Номер")?.to_owned(),
            date,
            kopecks,
            payer_account: or("ПлательщикСчет", "ПлательщикРасчСчет"),
            payer_inn: self.get("ПлательщикИНН").to_owned(),
            payer_name: or("Плательщик1", "Плательщик"),
            payee_account: or("ПолучательСчет", "ПолучательРасчСчет"),
            payee_inn: self.get("ПолучательИНН").to_owned(),
            purpose,
            received_on: parse_date(self.get("ДатаПоступило")),
        })
    }
}

/// Reads a statement file (see [`decode`] for its encodings).
pub fn parse(bytes: &[u8]) -> Result<Statement, ParseError> {
    let text = decode(bytes)?.replace("\r\n", "\n");
    let mut lines = text
        .split(['\n', '\r'])
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty());
    match lines.next() {
        Some((_, "1CClientBankExchange")) => {}
        _ => {
            return Err(error(
                1,
                "not a 1C bank statement: the first line must be 1CClientBankExchange",
            ));
        }
    }
    let mut statement = Statement {
        accounts: Vec::new(),
        from: None,
        to: None,
        documents: Vec::new(),
    };
    let mut document: Option<Fields> = None;
    let mut in_account = false;
    let mut ended = false;
    for (n, line) in lines.by_ref() {
        let (key, value) = match line.split_once('=') {
            Some((k, v)) => (k.trim(), v.trim()),
            None => (line, ""),
        };
        match key {
            "КонецФайла" => {
                ended = true;
                break;
            }
            "СекцияДокумент" => {
                if document.is_some() {
                    return Err(error(n, "a document starts before the last one ended"));
                }
                document = Some(Fields {
                    line: n,
                    kind: value.to_owned(),
                    values: Vec::new(),
                });
            }
            "КонецДокумента" => {
                let fields = document
                    .take()
                    .ok_or_else(|| error(n, "КонецДокумента without СекцияДокумент"))?;
                statement.documents.push(fields.order()?);
            }
            "СекцияРасчСчет" => in_account = true,
            "КонецРасчСчет" => in_account = false,
            _ => match &mut document {
                Some(fields) => fields.values.push((key.to_owned(), value.to_owned(), n)),
                None => match key {
                    "РасчСчет"
                        if !value.is_empty() && !statement.accounts.iter().any(|a| a == value) =>
                    {
                        statement.accounts.push(value.to_owned());
                    }
                    "ДатаНачала" if !in_account => statement.from = parse_date(value),
                    "ДатаКонца" if !in_account => statement.to = parse_date(value),
                    _ => {}
                },
            },
        }
    }
    if let Some(open) = document {
        return Err(error(open.line, "a document without КонецДокумента"));
    }
    if !ended {
        return Err(error(
            text.lines().count(),
            "the file ends without КонецФайла: it may be cut short",
        ));
    }
    if statement.accounts.is_empty() {
        return Err(error(1, "the statement names no account (РасчСчет)"));
    }
    Ok(statement)
}

/// What became of one incoming payment order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The invoice named, its buyer's INN and its total: paid.
    Matched,
    /// Less than the invoice's total: listed, not paid.
    Partial,
    /// More than the invoice's total: listed, not paid.
    Excess,
    /// An invoice is named, but the payer's INN is not its buyer's.
    UnknownInn,
    /// No invoice of the payer is named in the purpose.
    NoInvoice,
    /// More than one invoice is named: not guessed.
    SeveralInvoices,
    /// The invoice named was paid already (or is being refunded or canceled).
    NotPayable,
    /// This payment order was imported before (this statement or another).
    Duplicate,
    /// Money paid out of the account, not in.
    Outgoing,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Matched => "matched",
            Outcome::Partial => "partial",
            Outcome::Excess => "excess",
            Outcome::UnknownInn => "unknown_inn",
            Outcome::NoInvoice => "no_invoice",
            Outcome::SeveralInvoices => "several_invoices",
            Outcome::NotPayable => "not_payable",
            Outcome::Duplicate => "duplicate",
            Outcome::Outgoing => "outgoing",
        }
    }

    pub const ALL: [Outcome; 9] = [
        Outcome::Matched,
        Outcome::Partial,
        Outcome::Excess,
        Outcome::UnknownInn,
        Outcome::NoInvoice,
        Outcome::SeveralInvoices,
        Outcome::NotPayable,
        Outcome::Duplicate,
        Outcome::Outgoing,
    ];

    pub fn parse(s: &str) -> Option<Outcome> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

/// Whether `number` is written in `purpose` as a whole token: not inside a longer
/// run of letters, digits, `-` or `/` (so `2026-000001` is not found in
/// `2026-0000012`).
pub fn names(purpose: &str, number: &str) -> bool {
    if number.is_empty() {
        return false;
    }
    let part = |c: char| c.is_alphanumeric() || c == '-' || c == '/';
    purpose.match_indices(number).any(|(at, _)| {
        let before = purpose[..at].chars().next_back();
        let after = purpose[at + number.len()..].chars().next();
        !before.is_some_and(part) && !after.is_some_and(part)
    })
}

/// An invoice as matching sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate<'a> {
    pub number: &'a str,
    pub buyer_inn: &'a str,
    pub total_kopecks: i64,
    pub payable: bool,
}

/// The rule: among the invoices named in the purpose, the one of the payer's INN;
/// then the amount decides. Never a guess: two named, or the payer not the buyer,
/// is for the operator.
pub fn classify(order: &PaymentOrder, named: &[Candidate]) -> (Outcome, Option<usize>) {
    let of_payer: Vec<usize> = named
        .iter()
        .enumerate()
        .filter(|(_, c)| c.buyer_inn == order.payer_inn)
        .map(|(i, _)| i)
        .collect();
    match of_payer.as_slice() {
        [] if named.is_empty() => (Outcome::NoInvoice, None),
        [] => (Outcome::UnknownInn, (named.len() == 1).then_some(0)),
        [i] => {
            let c = &named[*i];
            let outcome = if !c.payable {
                Outcome::NotPayable
            } else if order.kopecks == c.total_kopecks {
                Outcome::Matched
            } else if order.kopecks < c.total_kopecks {
                Outcome::Partial
            } else {
                Outcome::Excess
            };
            (outcome, Some(*i))
        }
        _ => (Outcome::SeveralInvoices, None),
    }
}

/// When the money arrived, for the payment's record: the day it was received,
/// else the order's date, at midnight UTC.
pub fn received_at(order: &PaymentOrder) -> Timestamp {
    let day = order.received_on.unwrap_or(order.date);
    Timestamp::start_of(day)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "1CClientBankExchange\r\nВерсияФормата=1.03\r\nКодировка=Windows\r\n\
Отправитель=Бизнес Онлайн\r\nДатаНачала=13.03.2026\r\nДатаКонца=13.03.2026\r\n\
РасчСчет=40702810900000012345\r\nСекцияРасчСчет\r\nДатаНачала=13.03.2026\r\n\
РасчСчет=40702810900000012345\r\nНачальныйОстаток=10000.00\r\nКонецРасчСчет\r\n\
СекцияДокумент=Платежное поручение\r\nНомер=417\r\nДата=12.03.2026\r\nСумма=12000.00\r\n\
ПлательщикСчет=40702810600000054321\r\nПлательщикИНН=7701234567\r\nПлательщик1=ООО \"Ромашка\"\r\n\
ПолучательСчет=40702810900000012345\r\nПолучательИНН=7709876543\r\nДатаПоступило=13.03.2026\r\n\
НазначениеПлатежа=Оплата по счету № 2026-000042 от 10.03.2026. Без НДС\r\nКонецДокумента\r\n\
СекцияДокумент=Банковский ордер\r\nНомер=9\r\nДата=13.03.2026\r\nСумма=150.5\r\n\
ПлательщикСчет=40702810900000012345\r\nПолучательСчет=70601810000000000001\r\n\
НазначениеПлатежа1=Комиссия\r\nНазначениеПлатежа2=за ведение счёта\r\nКонецДокумента\r\nКонецФайла\r\n";

    #[test]
    fn a_statement_in_windows_1251_reads_whole() {
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(SAMPLE);
        let s = parse(&bytes).unwrap();
        assert_eq!(s.accounts, ["40702810900000012345"]);
        assert_eq!(s.from, parse_date("13.03.2026"));
        assert_eq!(s.documents.len(), 2);
        let first = &s.documents[0];
        assert_eq!(first.kopecks, 1_200_000);
        assert_eq!(first.payer_inn, "7701234567");
        assert_eq!(first.payer_name, "ООО \"Ромашка\"");
        assert!(s.is_incoming(first));
        assert_eq!(first.reference(), "п/п № 417 от 12.03.2026");
        let fee = &s.documents[1];
        assert_eq!(fee.kind, "Банковский ордер");
        assert_eq!(fee.kopecks, 15_050);
        assert_eq!(fee.purpose, "Комиссия за ведение счёта");
        assert!(!s.is_incoming(fee));
    }

    #[test]
    fn utf8_and_dos_read_alike() {
        let utf8 = parse(SAMPLE.as_bytes()).unwrap();
        let dos = SAMPLE.replace("Кодировка=Windows", "Кодировка=DOS");
        let (bytes, _, _) = encoding_rs::IBM866.encode(&dos);
        // encoding_rs encodes only to web encodings; cp866 is one of them.
        assert_eq!(parse(&bytes).unwrap().documents, utf8.documents);
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(SAMPLE.as_bytes());
        assert_eq!(parse(&bom).unwrap().documents, utf8.documents);
    }

    #[test]
    fn what_is_not_a_statement_says_where() {
        assert_eq!(parse(b"hello").unwrap_err().line, 1);
        let cut = SAMPLE.replace("КонецФайла", "");
        assert!(
            parse(cut.as_bytes())
                .unwrap_err()
                .what
                .contains("КонецФайла")
        );
        let bad = SAMPLE.replace("Сумма=12000.00", "Сумма=12 000,00");
        let e = parse(bad.as_bytes()).unwrap_err();
        assert_eq!(e.line, 16);
        assert!(e.what.contains("12 000,00"), "{e}");
        let open = SAMPLE.replace("НазначениеПлатежа2=за ведение счёта\r\nКонецДокумента", "");
        assert!(parse(open.as_bytes()).is_err());
    }

    #[test]
    fn amounts_are_exact() {
        assert_eq!(kopecks("0.01"), Some(1));
        assert_eq!(kopecks("4500.5"), Some(450_050));
        assert_eq!(kopecks("12000"), Some(1_200_000));
        assert_eq!(kopecks("92233720368547758.07"), Some(i64::MAX));
        for bad in ["", "1.234", "1,00", "-1.00", ".5", "92233720368547758.08"] {
            assert_eq!(kopecks(bad), None, "{bad}");
        }
    }

    #[test]
    fn numbers_are_named_as_whole_tokens() {
        assert!(names(
            "Оплата по счету № 2026-000042 от 10.03.2026",
            "2026-000042"
        ));
        assert!(names("счет 2026-000042, НДС", "2026-000042"));
        assert!(!names("счет 2026-0000421", "2026-000042"));
        assert!(!names("счет 12026-000042", "2026-000042"));
        assert!(!names("счет", ""));
    }

    #[test]
    fn the_amount_and_the_inn_decide() {
        let order = parse(SAMPLE.as_bytes()).unwrap().documents[0].clone();
        let ours = Candidate {
            number: "2026-000042",
            buyer_inn: "7701234567",
            total_kopecks: 1_200_000,
            payable: true,
        };
        assert_eq!(
            classify(&order, std::slice::from_ref(&ours)),
            (Outcome::Matched, Some(0))
        );
        let dearer = Candidate {
            total_kopecks: 1_300_000,
            ..ours.clone()
        };
        assert_eq!(classify(&order, &[dearer]).0, Outcome::Partial);
        let cheaper = Candidate {
            total_kopecks: 1_100_000,
            ..ours.clone()
        };
        assert_eq!(classify(&order, &[cheaper]).0, Outcome::Excess);
        let paid = Candidate {
            payable: false,
            ..ours.clone()
        };
        assert_eq!(classify(&order, &[paid]).0, Outcome::NotPayable);
        let other = Candidate {
            buyer_inn: "7707083893",
            ..ours.clone()
        };
        assert_eq!(classify(&order, &[other]), (Outcome::UnknownInn, Some(0)));
        assert_eq!(classify(&order, &[]).0, Outcome::NoInvoice);
        let second = Candidate {
            number: "2026-000043",
            ..ours.clone()
        };
        assert_eq!(
            classify(&order, &[ours, second]).0,
            Outcome::SeveralInvoices
        );
    }
}
