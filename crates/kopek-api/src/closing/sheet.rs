//! A closing document as PDF: the УПД (status 1: the invoice and the transfer
//! document in one) or its correction, in the fonts and the look of the
//! bank-transfer invoice, with the text extractable.

use super::vat_rate;
use crate::html::money;
use crate::pdf::{Align, BODY, Block, STRONG, TITLE, cell, paragraph, render_blocks};
use kopek_core::closing::Download;
use kopek_domain::Error;
use kopek_domain::closing::{self, Party};
use kopek_domain::lang::Lang;
use kopek_domain::money::Money;
use kopek_domain::time::ru_date;
use kopek_domain::words;

fn details(p: &Party) -> String {
    let mut parts = vec![p.name.clone(), format!("ИНН {}", p.inn)];
    if let Some(kpp) = &p.kpp {
        parts.push(format!("КПП {kpp}"));
    }
    parts.push(format!(
        "адрес: {}",
        p.address.as_deref().unwrap_or("не указан")
    ));
    parts.join(", ")
}

pub fn render(d: &Download) -> Result<Vec<u8>, Error> {
    let doc = &d.listed.document;
    let m = |minor| money(Money::new(minor, doc.currency), Lang::Ru);
    let on = doc.date();
    let correction = doc.kind == "ukd";
    let title = if correction {
        format!(
            "Универсальный корректировочный документ № {} от {}",
            doc.number,
            ru_date(on)
        )
    } else {
        format!(
            "Универсальный передаточный документ № {} от {} (статус 1)",
            doc.number,
            ru_date(on)
        )
    };
    let rate = vat_rate(doc.vat_basis_points, doc.seller.vat_payer);
    let header: Vec<_> = if correction {
        [
            "№",
            "Услуга",
            "Ставка",
            "Стоимость с НДС до",
            "Стоимость с НДС после",
            "Изменение",
            "НДС, изменение",
        ]
        .iter()
        .map(|h| cell(h, STRONG, Align::Left))
        .collect()
    } else {
        [
            "№",
            "Услуга",
            "Кол-во",
            "Стоимость без НДС",
            "Ставка",
            "НДС",
            "Стоимость с НДС",
        ]
        .iter()
        .map(|h| cell(h, STRONG, Align::Left))
        .collect()
    };
    let rows = doc
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let n = (i + 1).to_string();
            if let (true, Some(before)) = (correction, l.before) {
                vec![
                    cell(&n, BODY, Align::Left),
                    cell(&l.name, BODY, Align::Left),
                    cell(&rate, BODY, Align::Left),
                    cell(&m(before.amount), BODY, Align::Right),
                    cell(&m(l.amount), BODY, Align::Right),
                    cell(&m(l.amount - before.amount), BODY, Align::Right),
                    cell(&m(l.vat - before.vat), BODY, Align::Right),
                ]
            } else {
                vec![
                    cell(&n, BODY, Align::Left),
                    cell(&l.name, BODY, Align::Left),
                    cell(&l.quantity.to_string(), BODY, Align::Right),
                    cell(&m(l.amount - l.vat), BODY, Align::Right),
                    cell(&rate, BODY, Align::Left),
                    cell(&m(l.vat), BODY, Align::Right),
                    cell(&m(l.amount), BODY, Align::Right),
                ]
            }
        })
        .collect();
    let mut blocks = vec![
        paragraph(title.clone(), TITLE, Align::Left),
        Block::Gap(0.5),
    ];
    if let Some(corrected) = &doc.corrects {
        blocks.push(paragraph(
            format!(
                "Корректирует документ {corrected} по счёту № {}",
                d.invoice_number
            ),
            BODY,
            Align::Left,
        ));
    }
    blocks.extend([
        Block::Paragraph(
            vec![
                ("Продавец:".to_owned(), STRONG),
                (details(&doc.seller), BODY),
            ],
            Align::Left,
        ),
        Block::Paragraph(
            vec![
                ("Покупатель:".to_owned(), STRONG),
                (details(&doc.buyer), BODY),
            ],
            Align::Left,
        ),
        paragraph(
            format!(
                "Основание: счёт на оплату № {} от {}. Период оказания услуг: {} – {}.",
                d.invoice_number,
                ru_date(d.invoice_date),
                ru_date(doc.service_start.date()),
                ru_date(closing::last_day(doc.service_start, doc.service_end)),
            ),
            BODY,
            Align::Left,
        ),
        paragraph(
            format!("Валюта: {}", doc.currency.code()),
            BODY,
            Align::Left,
        ),
        Block::Gap(0.5),
        Block::Table {
            columns: &[1.0, 8.5, 2.5, 4.0, 2.5, 3.5, 4.0],
            header: Some(header),
            rows,
        },
        Block::Gap(0.5),
    ]);
    let (total_label, vat_label) = if correction {
        ("Изменение стоимости с НДС:", "Изменение НДС:")
    } else {
        ("Всего к оплате:", "В том числе НДС:")
    };
    blocks.push(paragraph(
        format!("{total_label} {}", m(doc.total)),
        STRONG,
        Align::Right,
    ));
    blocks.push(paragraph(
        if doc.seller.vat_payer {
            format!("{vat_label} {}", m(doc.vat))
        } else {
            "Без налога (НДС)".to_owned()
        },
        STRONG,
        Align::Right,
    ));
    if !correction {
        blocks.extend([
            Block::Gap(0.5),
            paragraph(words::rubles(doc.total), BODY, Align::Left),
            paragraph(
                "Услуги оказаны в полном объеме, в срок; покупатель претензий по объему, \
                 качеству и срокам оказания услуг не имеет.",
                BODY,
                Align::Left,
            ),
        ]);
    }
    let signer = format!(
        "{} ____________________ {}",
        doc.seller
            .signer_position
            .as_deref()
            .unwrap_or("Руководитель"),
        doc.seller.signer_name.as_deref().unwrap_or("")
    );
    blocks.extend([
        Block::Gap(2.0),
        paragraph(format!("Передал (продавец): {signer}"), BODY, Align::Left),
        Block::Gap(1.0),
        paragraph(
            "Принял (покупатель): ____________________",
            BODY,
            Align::Left,
        ),
    ]);
    render_blocks(&title, &blocks)
}
