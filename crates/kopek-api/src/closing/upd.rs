//! A УПД as the ФНС XML of format 5.03 (приказ ЕД-7-26/970@, function СЧФДОП:
//! the invoice and the transfer document in one), in windows-1251, as EDO
//! operators and 1C take it. Beyond the schema it meets the rules the schema
//! embeds for СЧФДОП (both parties' addresses, the document's name, the
//! transfer's date and basis, every line's and the totals' amounts); a
//! character windows-1251 lacks is written as a character reference.

use kopek_core::closing::Download;
use kopek_domain::Error;
use kopek_domain::closing::{self, Party};
use kopek_domain::time::ru_date;
use std::fmt::Write;

/// What the document is by the fact of economic life, and its name as agreed.
const PO_FAKT: &str = "Документ об отгрузке товаров (выполнении работ), передаче имущественных \
                       прав (документ об оказании услуг)";
const NAIM_DOK: &str = "Счет-фактура и документ об отгрузке товаров (выполнении работ), передаче \
                        имущественных прав (документ об оказании услуг)";

/// The settings and details an XML cannot be made without, named as the
/// operator sets them.
pub fn missing(d: &Download) -> Vec<&'static str> {
    let mut out = Vec::new();
    let seller = &d.listed.document.seller;
    let buyer = &d.listed.document.buyer;
    if !seller.is_named() {
        out.push("KOPEK_SELLER_NAME and KOPEK_SELLER_INN");
    }
    if seller.address.is_none() {
        out.push("KOPEK_SELLER_ADDRESS");
    }
    if seller.signer_name.as_deref().and_then(person).is_none() {
        out.push("KOPEK_SELLER_SIGNER_NAME (Фамилия Имя Отчество)");
    }
    if buyer.address.is_none() {
        out.push("the organization's legalAddress");
    }
    if d.listed.document.kind != "upd" {
        out.push("a correction's XML (УКД, format ON_NUKDISPRPR), which Kopek does not make yet");
    }
    out
}

/// The file's name (its `ИдФайл`) without `.xml`.
pub fn file_id(d: &Download) -> String {
    let doc = &d.listed.document;
    closing::file_id(&doc.seller, &doc.buyer, doc.date(), &doc.file_guid)
}

/// The document as XML in windows-1251; a refusal names what is missing.
pub fn render(d: &Download) -> Result<Vec<u8>, Error> {
    let missing = missing(d);
    if !missing.is_empty() {
        return Err(Error::FailedPrecondition(format!(
            "The XML of this document cannot be made until these are set: {}; its PDF can",
            missing.join(", ")
        )));
    }
    let doc = &d.listed.document;
    let made = doc.created_at.datetime();
    let mut x = String::with_capacity(4096);
    x.push_str("<?xml version=\"1.0\" encoding=\"windows-1251\"?>\r\n");
    open(
        &mut x,
        "Файл",
        &[
            ("ИдФайл", file_id(d)),
            ("ВерсФорм", "5.03".to_owned()),
            ("ВерсПрог", format!("Kopek {}", env!("CARGO_PKG_VERSION"))),
        ],
    );
    open(
        &mut x,
        "Документ",
        &[
            ("КНД", "1115131".to_owned()),
            ("Функция", "СЧФДОП".to_owned()),
            ("ПоФактХЖ", PO_FAKT.to_owned()),
            ("НаимДокОпр", NAIM_DOK.to_owned()),
            ("ДатаИнфПр", ru_date(made.date())),
            (
                "ВремИнфПр",
                format!(
                    "{:02}.{:02}.{:02}",
                    made.hour(),
                    made.minute(),
                    made.second()
                ),
            ),
            ("НаимЭконСубСост", composer(&doc.seller)),
        ],
    );
    open(
        &mut x,
        "СвСчФакт",
        &[
            ("НомерДок", doc.number.clone()),
            ("ДатаДок", ru_date(doc.date())),
        ],
    );
    party(&mut x, "СвПрод", &doc.seller);
    party(&mut x, "СвПокуп", &doc.buyer);
    empty(
        &mut x,
        "ДенИзм",
        &[
            ("КодОКВ", currency_code(doc.currency.code()).to_owned()),
            ("НаимОКВ", currency_name(doc.currency.code()).to_owned()),
        ],
    );
    close(&mut x, "СвСчФакт");
    open(&mut x, "ТаблСчФакт", &[]);
    let rate = rate(doc.vat_basis_points, doc.seller.vat_payer);
    for (i, line) in doc.lines.iter().enumerate() {
        let net = line.amount - line.vat;
        let mut attrs = vec![
            ("НомСтр", (i + 1).to_string()),
            ("НаимТов", line.name.clone()),
        ];
        // A quantity needs a price above zero; a free line has neither.
        if net > 0 && line.quantity > 0 {
            attrs.extend([
                ("ОКЕИ_Тов", "796".to_owned()),
                ("НаимЕдИзм", "шт".to_owned()),
                ("КолТов", line.quantity.to_string()),
                ("ЦенаТов", unit_price(net, line.quantity)),
            ]);
        }
        attrs.extend([
            ("СтТовБезНДС", amount(net)),
            ("НалСт", rate.clone()),
            ("СтТовУчНал", amount(line.amount)),
        ]);
        open(&mut x, "СведТов", &attrs);
        x.push_str("<Акциз><БезАкциз>без акциза</БезАкциз></Акциз>");
        tax(&mut x, "СумНал", line.vat, doc.seller.vat_payer);
        close(&mut x, "СведТов");
    }
    let net_total: i64 = doc.lines.iter().map(|l| l.amount - l.vat).sum();
    open(
        &mut x,
        "ВсегоОпл",
        &[
            ("СтТовБезНДСВсего", amount(net_total)),
            ("СтТовУчНалВсего", amount(doc.total)),
        ],
    );
    tax(&mut x, "СумНалВсего", doc.vat, doc.seller.vat_payer);
    close(&mut x, "ВсегоОпл");
    close(&mut x, "ТаблСчФакт");
    open(&mut x, "СвПродПер", &[]);
    let last = closing::last_day(doc.service_start, doc.service_end);
    open(
        &mut x,
        "СвПер",
        &[
            ("СодОпер", "Услуги оказаны в полном объеме".to_owned()),
            ("ДатаПер", ru_date(doc.date())),
            ("ДатаНачПер", ru_date(doc.service_start.date())),
            ("ДатаОконПер", ru_date(last)),
        ],
    );
    empty(
        &mut x,
        "ОснПер",
        &[
            ("РеквНаимДок", "Счет на оплату".to_owned()),
            ("РеквНомерДок", d.invoice_number.clone()),
            ("РеквДатаДок", ru_date(d.invoice_date)),
        ],
    );
    close(&mut x, "СвПер");
    close(&mut x, "СвПродПер");
    let mut signer = vec![("СпосПодтПолном", "1".to_owned())];
    if let Some(position) = &doc.seller.signer_position {
        signer.insert(0, ("Должн", position.clone()));
    }
    open(&mut x, "Подписант", &signer);
    if let Some(fio) = doc.seller.signer_name.as_deref().and_then(person) {
        empty(&mut x, "ФИО", &fio);
    }
    close(&mut x, "Подписант");
    close(&mut x, "Документ");
    close(&mut x, "Файл");
    let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(&x);
    Ok(bytes.into_owned())
}

/// «Name, ИНН/КПП …», who composed the file.
fn composer(seller: &Party) -> String {
    match &seller.kpp {
        Some(kpp) => format!("{}, ИНН/КПП {}/{kpp}", seller.name, seller.inn),
        None => format!("{}, ИНН {}", seller.name, seller.inn),
    }
}

fn party(x: &mut String, tag: &str, p: &Party) {
    open(x, tag, &[]);
    x.push_str("<ИдСв>");
    if p.inn.len() == 12 {
        // A sole trader is named as a person, from the name after «ИП».
        let name = p.name.trim_start_matches("ИП ").trim();
        open(x, "СвИП", &[("ИННФЛ", p.inn.clone())]);
        if let Some(fio) = person(name) {
            empty(x, "ФИО", &fio);
        }
        close(x, "СвИП");
    } else {
        let mut attrs = vec![("НаимОрг", p.name.clone()), ("ИННЮЛ", p.inn.clone())];
        if let Some(kpp) = &p.kpp {
            attrs.push(("КПП", kpp.clone()));
        }
        empty(x, "СвЮЛУч", &attrs);
    }
    x.push_str("</ИдСв>");
    if let Some(address) = &p.address {
        x.push_str("<Адрес>");
        empty(
            x,
            "АдрИнф",
            &[
                ("КодСтр", "643".to_owned()),
                ("НаимСтран", "Россия".to_owned()),
                ("АдрТекст", address.clone()),
            ],
        );
        x.push_str("</Адрес>");
    }
    close(x, tag);
}

/// A person's name as `ФИО` takes it: «Фамилия Имя [Отчество]».
fn person(name: &str) -> Option<Vec<(&'static str, String)>> {
    let mut words = name.split_whitespace();
    let surname = words.next()?;
    let given = words.next()?;
    let mut out = vec![("Фамилия", surname.to_owned()), ("Имя", given.to_owned())];
    let rest: Vec<&str> = words.collect();
    if !rest.is_empty() {
        out.push(("Отчество", rest.join(" ")));
    }
    Some(out)
}

/// A tax amount, or «без НДС» where the seller charges none.
fn tax(x: &mut String, tag: &str, vat: i64, vat_payer: bool) {
    open(x, tag, &[]);
    if vat_payer {
        let _ = write!(x, "<СумНал>{}</СумНал>", amount(vat));
    } else {
        x.push_str("<БезНДС>без НДС</БезНДС>");
    }
    close(x, tag);
}

/// The rate as the format's enumeration writes it.
fn rate(basis_points: i64, vat_payer: bool) -> String {
    if !vat_payer {
        "без НДС".to_owned()
    } else {
        format!("{}%", basis_points / 100)
    }
}

fn currency_code(code: &str) -> &'static str {
    match code {
        "KZT" => "398",
        "USD" => "840",
        "EUR" => "978",
        "GBP" => "826",
        _ => "643",
    }
}

fn currency_name(code: &str) -> &'static str {
    match code {
        "KZT" => "Казахстанский тенге",
        "USD" => "Доллар США",
        "EUR" => "Евро",
        "GBP" => "Фунт стерлингов",
        _ => "Российский рубль",
    }
}

/// Minor units as the format's decimal: `1234.50`.
pub fn amount(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let m = minor.unsigned_abs();
    format!("{sign}{}.{:02}", m / 100, m % 100)
}

/// The price of one unit without VAT, to the kopeck (rounded half up).
fn unit_price(net: i64, quantity: i64) -> String {
    let rounded = kopek_domain::vat::div_round(i128::from(net), i128::from(quantity)).unwrap_or(0);
    amount(rounded)
}

fn open(x: &mut String, tag: &str, attrs: &[(&str, String)]) {
    x.push('<');
    x.push_str(tag);
    attributes(x, attrs);
    x.push('>');
}

fn empty(x: &mut String, tag: &str, attrs: &[(&str, String)]) {
    x.push('<');
    x.push_str(tag);
    attributes(x, attrs);
    x.push_str("/>");
}

fn close(x: &mut String, tag: &str) {
    let _ = write!(x, "</{tag}>");
}

fn attributes(x: &mut String, attrs: &[(&str, String)]) {
    for (name, value) in attrs {
        let _ = write!(x, " {name}=\"");
        for c in value.chars() {
            match c {
                '&' => x.push_str("&amp;"),
                '<' => x.push_str("&lt;"),
                '>' => x.push_str("&gt;"),
                '"' => x.push_str("&quot;"),
                // Control characters have no place in XML 1.0 text.
                c if c.is_control() => x.push(' '),
                c => x.push(c),
            }
        }
        x.push('"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_names_and_escapes() {
        assert_eq!(amount(123_456), "1234.56");
        assert_eq!(amount(5), "0.05");
        assert_eq!(amount(-250), "-2.50");
        assert_eq!(unit_price(1000, 3), "3.33");
        assert_eq!(unit_price(1001, 2), "5.01");
        assert_eq!(rate(2200, true), "22%");
        assert_eq!(rate(2000, false), "без НДС");
        assert_eq!(
            person("Иванов Иван Иванович").unwrap()[2],
            ("Отчество", "Иванович".to_owned())
        );
        assert!(person("Иванов").is_none());
        let mut x = String::new();
        empty(&mut x, "A", &[("B", "«Ромашка» & <Co> \"x\"\n".to_owned())]);
        assert_eq!(x, "<A B=\"«Ромашка» &amp; &lt;Co&gt; &quot;x&quot; \"/>");
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode("Ж€😀");
        assert_eq!(&bytes[..], b"\xc6\x88&#128512;");
    }
}
