//! The text of the bank-transfer invoice (the usual Russian «Счёт на оплату»),
//! shared by its HTML page and its PDF.

use crate::Seller;
use crate::html::{date, money};
use crate::qr::Qr;
use kopek_domain::lang::Lang;
use kopek_domain::payment_qr::{self, Payee};
use kopek_domain::time::ru_date;
use kopek_domain::vat;
use kopek_domain::words;
use kopek_store::invoices::Invoice;

/// The text of the document, shared by the HTML and the PDF; made only when the
/// seller's bank details are all set ([`Seller::missing`]).
pub struct Document {
    pub title: String,
    pub bank: Vec<(String, String)>,
    pub supplier: String,
    pub buyer: String,
    /// (name, quantity, unit, price, sum)
    pub rows: Vec<[String; 5]>,
    pub totals: Vec<(String, String)>,
    pub summary: String,
    pub in_words: String,
    /// The payment QR code (GOST R 56042-2014) banking apps scan.
    pub qr: Option<Qr>,
}

/// What the transfer is for, as the QR code says it: the invoice, and its VAT.
fn purpose(inv: &Invoice) -> String {
    let quote = &inv.quote;
    let vat = if quote.vat_basis_points == 0 {
        "НДС не облагается".to_owned()
    } else {
        format!(
            "в т.ч. НДС {} {} руб.",
            vat::percent(quote.vat_basis_points),
            quote.vat
        )
    };
    format!(
        "Оплата по счёту № {} от {}, {vat}",
        inv.number,
        ru_date(inv.created_at.date())
    )
}

fn or_dash(s: &str) -> String {
    if s.trim().is_empty() {
        "—".to_owned()
    } else {
        s.to_owned()
    }
}

pub fn document(seller: &Seller, inv: &Invoice) -> Document {
    let m = |amount| money(amount, Lang::Ru);
    let quote = &inv.quote;
    let buyer_kpp = inv
        .company
        .kpp
        .as_ref()
        .map(|k| format!(", КПП {k}"))
        .unwrap_or_default();
    Document {
        title: format!(
            "Счёт на оплату № {} от {}",
            inv.number,
            date(inv.created_at, Lang::Ru)
        ),
        bank: vec![
            ("Банк получателя".to_owned(), seller.bank.clone()),
            ("БИК".to_owned(), seller.bik.clone()),
            ("Сч. №".to_owned(), seller.correspondent_account.clone()),
            (
                "ИНН / КПП".to_owned(),
                format!("{} / {}", seller.inn, or_dash(&seller.kpp)),
            ),
            ("Получатель".to_owned(), seller.name.clone()),
            ("Сч. № получателя".to_owned(), seller.account.clone()),
        ],
        supplier: [
            seller.name.clone(),
            format!("ИНН {}", seller.inn),
            if seller.kpp.is_empty() {
                String::new()
            } else {
                format!("КПП {}", seller.kpp)
            },
            seller.address.clone(),
        ]
        .into_iter()
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(", "),
        buyer: format!("{}, ИНН {}{buyer_kpp}", inv.company.name, inv.company.inn),
        rows: quote
            .positions
            .iter()
            .map(|p| {
                [
                    p.name.clone(),
                    p.quantity.to_string(),
                    "шт".to_owned(),
                    m(p.price),
                    m(p.total),
                ]
            })
            .collect(),
        totals: vec![
            ("Итого:".to_owned(), m(quote.total)),
            (
                if quote.vat_basis_points == 0 {
                    "Без налога (НДС):".to_owned()
                } else {
                    format!(
                        "В том числе НДС ({}):",
                        vat::percent(quote.vat_basis_points)
                    )
                },
                if quote.vat_basis_points == 0 {
                    "—".to_owned()
                } else {
                    m(quote.vat)
                },
            ),
            ("Всего к оплате:".to_owned(), m(quote.total)),
        ],
        summary: format!(
            "Всего наименований {}, на сумму {}",
            quote.positions.len(),
            m(quote.total)
        ),
        in_words: words::rubles(quote.total.minor()),
        qr: Qr::encode(&payment_qr::payload(
            &Payee {
                name: &seller.name,
                account: &seller.account,
                bank: &seller.bank,
                bic: &seller.bik,
                correspondent_account: &seller.correspondent_account,
                inn: &seller.inn,
                kpp: &seller.kpp,
            },
            quote.total.minor(),
            &purpose(inv),
        )),
    }
}
