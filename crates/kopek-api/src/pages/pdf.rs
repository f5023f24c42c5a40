//! The bank-transfer invoice as PDF, laid out by genpdf with DejaVu Sans embedded,
//! so Cyrillic renders (and extracts as text) anywhere.

use super::transfer::Document;
use genpdf::elements::{Break, FrameCellDecorator, Paragraph, TableLayout};
use genpdf::fonts::{FontData, FontFamily};
use genpdf::style::Style;
use genpdf::{Alignment, Element, SimplePageDecorator};
use kopek_domain::Error;

const REGULAR: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");

fn fonts() -> Result<FontFamily<FontData>, Error> {
    let regular = FontData::new(REGULAR.to_vec(), None).map_err(Error::internal)?;
    let bold = FontData::new(BOLD.to_vec(), None).map_err(Error::internal)?;
    Ok(FontFamily {
        italic: regular.clone(),
        bold_italic: bold.clone(),
        regular,
        bold,
    })
}

fn pdf_error(e: genpdf::error::Error) -> Error {
    Error::internal(format!("PDF: {e}"))
}

pub fn render(doc: &Document) -> Result<Vec<u8>, Error> {
    let mut pdf = genpdf::Document::new(fonts()?);
    pdf.set_title(doc.title.clone());
    pdf.set_paper_size(genpdf::PaperSize::A4);
    pdf.set_font_size(9);
    let mut decorator = SimplePageDecorator::new();
    decorator.set_margins(15);
    pdf.set_page_decorator(decorator);
    let bold = Style::new().bold();

    let mut bank = TableLayout::new(vec![1, 3]);
    bank.set_cell_decorator(FrameCellDecorator::new(true, true, false));
    for (k, v) in &doc.bank {
        bank.row()
            .element(Paragraph::new(k.as_str()).padded(1))
            .element(Paragraph::new(v.as_str()).padded(1))
            .push()
            .map_err(pdf_error)?;
    }
    pdf.push(bank);
    pdf.push(Break::new(1));
    pdf.push(Paragraph::new(doc.title.as_str()).styled(bold.with_font_size(13)));
    pdf.push(Break::new(1));
    pdf.push(
        Paragraph::default()
            .styled_string("Поставщик (Исполнитель): ", bold)
            .string(doc.supplier.as_str()),
    );
    pdf.push(
        Paragraph::default()
            .styled_string("Покупатель (Заказчик): ", bold)
            .string(doc.buyer.as_str()),
    );
    pdf.push(Break::new(1));

    let mut table = TableLayout::new(vec![1, 9, 2, 2, 4, 4]);
    table.set_cell_decorator(FrameCellDecorator::new(true, true, false));
    let mut header = table.row();
    for h in [
        "№",
        "Товары (работы, услуги)",
        "Кол-во",
        "Ед.",
        "Цена",
        "Сумма",
    ] {
        header.push_element(Paragraph::new(h).styled(bold).padded(1));
    }
    header.push().map_err(pdf_error)?;
    for (i, r) in doc.rows.iter().enumerate() {
        table
            .row()
            .element(Paragraph::new((i + 1).to_string()).padded(1))
            .element(Paragraph::new(r[0].as_str()).padded(1))
            .element(
                Paragraph::new(r[1].as_str())
                    .aligned(Alignment::Right)
                    .padded(1),
            )
            .element(Paragraph::new(r[2].as_str()).padded(1))
            .element(
                Paragraph::new(r[3].as_str())
                    .aligned(Alignment::Right)
                    .padded(1),
            )
            .element(
                Paragraph::new(r[4].as_str())
                    .aligned(Alignment::Right)
                    .padded(1),
            )
            .push()
            .map_err(pdf_error)?;
    }
    pdf.push(table);
    for (k, v) in &doc.totals {
        pdf.push(
            Paragraph::default()
                .styled_string(format!("{k} {v}"), bold)
                .aligned(Alignment::Right),
        );
    }
    pdf.push(Break::new(1));
    pdf.push(Paragraph::new(doc.summary.as_str()));
    pdf.push(Paragraph::new(doc.in_words.as_str()).styled(bold));
    pdf.push(Break::new(3));
    pdf.push(Paragraph::new(
        "Руководитель ____________________        Бухгалтер ____________________",
    ));
    let mut out = Vec::new();
    pdf.render(&mut out).map_err(pdf_error)?;
    Ok(out)
}
