//! Documents as PDF: the bank-transfer invoice, reconciliation statements and
//! closing documents' sheets are laid out as blocks here. The layout (wrapped paragraphs, bordered
//! tables, page breaks) is computed here; krilla draws it and embeds only the
//! DejaVu Sans glyphs the document uses, with their Unicode, so Cyrillic renders
//! and extracts as text anywhere while a one-page invoice stays a few dozen KB.

use crate::qr::Qr;
use kopek_domain::Error;
use krilla::geom::{PathBuilder, Point};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::{Font, TextDirection};
use std::sync::LazyLock;

const REGULAR: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");
const BOLD: &[u8] = include_bytes!("../assets/fonts/DejaVuSans-Bold.ttf");

/// A4 in points, with 15 mm margins.
const PAGE_WIDTH: f32 = 595.28;
const PAGE_HEIGHT: f32 = 841.89;
const MARGIN: f32 = 42.52;
const CONTENT_WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN;
const LINE_SPACING: f32 = 1.25;
const CELL_PADDING: f32 = 3.0;
const BODY_SIZE: f32 = 9.0;

/// A font as krilla draws it and as rustybuzz measures it: the same shaping, so
/// measured widths are drawn widths.
struct Face {
    font: Font,
    shaper: rustybuzz::Face<'static>,
}

impl Face {
    fn load(data: &'static [u8]) -> Option<Face> {
        Some(Face {
            font: Font::new(data.into(), 0)?,
            shaper: rustybuzz::Face::from_slice(data, 0)?,
        })
    }

    fn width(&self, text: &str, size: f32) -> f32 {
        let mut buffer = rustybuzz::UnicodeBuffer::new();
        buffer.push_str(text);
        let shaped = rustybuzz::shape(&self.shaper, &[], buffer);
        let units: i32 = shaped.glyph_positions().iter().map(|p| p.x_advance).sum();
        units as f32 * size / self.shaper.units_per_em() as f32
    }

    /// From the top of a line to its baseline.
    fn ascent(&self, size: f32) -> f32 {
        f32::from(self.shaper.ascender()) * size / self.shaper.units_per_em() as f32
    }
}

struct Faces {
    regular: Face,
    bold: Face,
}

static FACES: LazyLock<Option<Faces>> = LazyLock::new(|| {
    Some(Faces {
        regular: Face::load(REGULAR)?,
        bold: Face::load(BOLD)?,
    })
});

#[derive(Clone, Copy, PartialEq, Debug)]
pub struct Style {
    bold: bool,
    size: f32,
}

pub const BODY: Style = Style {
    bold: false,
    size: BODY_SIZE,
};
pub const STRONG: Style = Style {
    bold: true,
    size: BODY_SIZE,
};

/// A title's size.
pub const TITLE: Style = Style {
    bold: true,
    size: 13.0,
};

#[derive(Clone, Copy, PartialEq)]
pub enum Align {
    Left,
    Right,
}

/// What a page holds, in page coordinates (origin top left, points).
#[derive(Debug, PartialEq)]
enum Mark {
    /// Text whose line box starts at `top`.
    Text {
        x: f32,
        top: f32,
        style: Style,
        text: String,
    },
    Line {
        from: (f32, f32),
        to: (f32, f32),
    },
    /// A filled square: a module of the QR code.
    Square {
        x: f32,
        top: f32,
        size: f32,
    },
}

/// Lays content out from the top of the first page down, starting a new page when
/// the next block does not fit.
struct Layout<'f> {
    faces: &'f Faces,
    pages: Vec<Vec<Mark>>,
    y: f32,
}

impl<'f> Layout<'f> {
    fn new(faces: &'f Faces) -> Layout<'f> {
        Layout {
            faces,
            pages: vec![Vec::new()],
            y: MARGIN,
        }
    }

    fn face(&self, style: Style) -> &'f Face {
        if style.bold {
            &self.faces.bold
        } else {
            &self.faces.regular
        }
    }

    fn room_for(&mut self, height: f32) {
        if self.y + height > PAGE_HEIGHT - MARGIN && self.y > MARGIN {
            self.pages.push(Vec::new());
            self.y = MARGIN;
        }
    }

    fn mark(&mut self, mark: Mark) {
        self.pages.last_mut().expect("a page").push(mark);
    }

    fn gap(&mut self, lines: f32) {
        self.y += lines * BODY_SIZE * LINE_SPACING;
    }

    /// Breaks runs of styled text into lines no wider than `width`: words move to
    /// the next line whole, and a word wider than a line is cut where it must.
    fn lines(&self, runs: &[(&str, Style)], width: f32) -> Vec<Vec<(f32, Style, String)>> {
        let mut lines = vec![Vec::new()];
        let mut x = 0.0;
        for (text, style) in runs {
            let face = self.face(*style);
            let space = face.width(" ", style.size);
            for word in text.split(' ').filter(|w| !w.is_empty()) {
                let mut word = word.to_owned();
                loop {
                    let w = face.width(&word, style.size);
                    let start = if x == 0.0 { 0.0 } else { x + space };
                    if start + w <= width {
                        lines
                            .last_mut()
                            .expect("a line")
                            .push((start, *style, word));
                        x = start + w;
                        break;
                    }
                    if x > 0.0 {
                        lines.push(Vec::new());
                        x = 0.0;
                        continue;
                    }
                    // Alone on its line and still too wide: cut it.
                    let fits = (1..word.chars().count())
                        .rev()
                        .map(|n| word.chars().take(n).collect::<String>())
                        .find(|head| face.width(head, style.size) <= width)
                        .unwrap_or_else(|| word.chars().take(1).collect());
                    let rest = word[fits.len()..].to_owned();
                    lines.last_mut().expect("a line").push((0.0, *style, fits));
                    lines.push(Vec::new());
                    if rest.is_empty() {
                        break;
                    }
                    word = rest;
                }
            }
        }
        if lines.last().is_some_and(Vec::is_empty) && lines.len() > 1 {
            lines.pop();
        }
        lines
    }

    fn line_height(runs: &[(&str, Style)]) -> f32 {
        runs.iter().map(|(_, s)| s.size).fold(BODY_SIZE, f32::max) * LINE_SPACING
    }

    /// Places wrapped lines in a box at `left` of `width`, from `top`; returns their height.
    fn place(
        &mut self,
        runs: &[(&str, Style)],
        left: f32,
        width: f32,
        top: f32,
        align: Align,
    ) -> f32 {
        let height = Self::line_height(runs);
        let lines = self.lines(runs, width);
        for (i, line) in lines.iter().enumerate() {
            let used = line
                .last()
                .map_or(0.0, |(x, s, t)| x + self.face(*s).width(t, s.size));
            let shift = match align {
                Align::Left => 0.0,
                Align::Right => width - used,
            };
            for (x, style, text) in line {
                self.mark(Mark::Text {
                    x: left + shift + x,
                    top: top + i as f32 * height,
                    style: *style,
                    text: text.clone(),
                });
            }
        }
        lines.len() as f32 * height
    }

    /// The QR code, `side` points square with its quiet zone, and `caption` beside it.
    fn qr(&mut self, qr: &Qr, side: f32, caption: &str) {
        let quiet = 4;
        let module = side / (qr.width + 2 * quiet) as f32;
        self.room_for(side);
        let top = self.y;
        for (x, y) in qr.modules() {
            self.mark(Mark::Square {
                x: MARGIN + (x + quiet) as f32 * module,
                top: top + (y + quiet) as f32 * module,
                size: module,
            });
        }
        let runs = [(caption, BODY)];
        let text_top = top + (side - Self::line_height(&runs) * 2.0) / 2.0;
        let left = MARGIN + side + 10.0;
        self.place(
            &runs,
            left,
            CONTENT_WIDTH - side - 10.0,
            text_top,
            Align::Left,
        );
        self.y += side;
    }

    fn paragraph(&mut self, runs: &[(&str, Style)], align: Align) {
        let height = Self::line_height(runs) * self.lines(runs, CONTENT_WIDTH).len() as f32;
        self.room_for(height);
        let top = self.y;
        self.y += self.place(runs, MARGIN, CONTENT_WIDTH, top, align);
    }

    /// A bordered table whose column widths are in proportion to `columns`; the
    /// header row, when given, is repeated at the top of every page the table spans.
    fn table(&mut self, columns: &[f32], header: Option<&[Cell]>, rows: &[Vec<Cell>]) {
        let total: f32 = columns.iter().sum();
        let widths: Vec<f32> = columns.iter().map(|c| c / total * CONTENT_WIDTH).collect();
        let mut on_page_top = true;
        for row in rows {
            let height = self.row_height(&widths, row);
            let header_height = header.map_or(0.0, |h| self.row_height(&widths, h));
            if on_page_top {
                self.room_for(header_height + height);
            } else {
                let before = self.pages.len();
                self.room_for(height);
                on_page_top = self.pages.len() != before;
                if on_page_top {
                    self.room_for(header_height + height);
                }
            }
            if on_page_top {
                if let Some(header) = header {
                    self.row(&widths, header);
                }
                on_page_top = false;
            }
            self.row(&widths, row);
        }
    }

    fn row_height(&self, widths: &[f32], row: &[Cell]) -> f32 {
        row.iter()
            .zip(widths)
            .map(|(cell, w)| {
                let runs = [(cell.text.as_str(), cell.style)];
                self.lines(&runs, w - 2.0 * CELL_PADDING).len() as f32 * Self::line_height(&runs)
            })
            .fold(0.0, f32::max)
            + 2.0 * CELL_PADDING
    }

    fn row(&mut self, widths: &[f32], row: &[Cell]) {
        let height = self.row_height(widths, row);
        let top = self.y;
        let mut left = MARGIN;
        for (cell, width) in row.iter().zip(widths) {
            self.place(
                &[(cell.text.as_str(), cell.style)],
                left + CELL_PADDING,
                width - 2.0 * CELL_PADDING,
                top + CELL_PADDING,
                cell.align,
            );
            self.mark(Mark::Line {
                from: (left, top),
                to: (left, top + height),
            });
            left += width;
        }
        let right = MARGIN + CONTENT_WIDTH;
        for (from, to) in [
            ((MARGIN, top), (right, top)),
            ((MARGIN, top + height), (right, top + height)),
            ((right, top), (right, top + height)),
        ] {
            self.mark(Mark::Line { from, to });
        }
        self.y += height;
    }
}

pub struct Cell {
    text: String,
    style: Style,
    align: Align,
}

pub fn cell(text: &str, style: Style, align: Align) -> Cell {
    Cell {
        text: text.to_owned(),
        style,
        align,
    }
}

/// What a document is made of, top to bottom.
pub enum Block<'a> {
    /// A bordered table: relative column widths, a header repeated on every page
    /// the table reaches, and its rows.
    Table {
        columns: &'a [f32],
        header: Option<Vec<Cell>>,
        rows: Vec<Vec<Cell>>,
    },
    Paragraph(Vec<(String, Style)>, Align),
    /// Space, in lines.
    Gap(f32),
    /// A QR code with a caption beside it.
    Qr(&'a Qr, &'a str),
}

/// A paragraph of one run.
pub fn paragraph(text: impl Into<String>, style: Style, align: Align) -> Block<'static> {
    Block::Paragraph(vec![(text.into(), style)], align)
}

fn lay_out<'f>(faces: &'f Faces, blocks: &[Block<'_>]) -> Layout<'f> {
    let mut layout = Layout::new(faces);
    for block in blocks {
        match block {
            Block::Table {
                columns,
                header,
                rows,
            } => layout.table(columns, header.as_deref(), rows),
            Block::Paragraph(runs, align) => {
                let runs: Vec<(&str, Style)> = runs.iter().map(|(t, s)| (t.as_str(), *s)).collect();
                layout.paragraph(&runs, *align);
            }
            Block::Gap(lines) => layout.gap(*lines),
            Block::Qr(qr, caption) => layout.qr(qr, 127.5, caption),
        }
    }
    layout
}

/// A document of `blocks`, titled `title` in its metadata, as PDF.
pub fn render_blocks(title: &str, blocks: &[Block<'_>]) -> Result<Vec<u8>, Error> {
    let faces = FACES
        .as_ref()
        .ok_or_else(|| Error::internal("PDF: the embedded DejaVu fonts do not load"))?;
    let layout = lay_out(faces, blocks);
    let mut pdf = krilla::Document::new();
    // krilla writes the title as a PDF text string and in XMP, so viewers show it
    // as written.
    pdf.set_metadata(
        Metadata::new()
            .title(title.to_owned())
            .language("ru".to_owned())
            .creator("Kopek".to_owned()),
    );
    let settings = PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT)
        .ok_or_else(|| Error::internal("PDF: page size"))?;
    for marks in &layout.pages {
        let mut page = pdf.start_page_with(settings.clone());
        let mut surface = page.surface();
        let mut lines = PathBuilder::new();
        for mark in marks {
            if let Mark::Line { from, to } = mark {
                lines.move_to(from.0, from.1);
                lines.line_to(to.0, to.1);
            }
        }
        if let Some(path) = lines.finish() {
            surface.set_fill(None);
            surface.set_stroke(Some(Stroke {
                width: 0.5,
                ..Stroke::default()
            }));
            surface.draw_path(&path);
            surface.set_stroke(None);
        }
        let mut squares = PathBuilder::new();
        for mark in marks {
            if let Mark::Square { x, top, size } = mark
                && let Some(rect) = krilla::geom::Rect::from_xywh(*x, *top, *size, *size)
            {
                squares.push_rect(rect);
            }
        }
        surface.set_fill(Some(Fill::default()));
        if let Some(path) = squares.finish() {
            surface.draw_path(&path);
        }
        for mark in marks {
            if let Mark::Text {
                x,
                top,
                style,
                text,
            } = mark
            {
                let face = layout.face(*style);
                surface.draw_text(
                    Point::from_xy(*x, top + face.ascent(style.size)),
                    face.font.clone(),
                    style.size,
                    text,
                    false,
                    TextDirection::Auto,
                );
            }
        }
        surface.finish();
        page.finish();
    }
    pdf.finish()
        .map_err(|e| Error::internal(format!("PDF: {e:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn faces() -> &'static Faces {
        FACES.as_ref().expect("fonts load")
    }

    fn texts(page: &[Mark]) -> Vec<&str> {
        page.iter()
            .filter_map(|m| match m {
                Mark::Text { text, .. } => Some(text.as_str()),
                Mark::Line { .. } | Mark::Square { .. } => None,
            })
            .collect()
    }

    #[test]
    fn long_words_and_lines_wrap_inside_their_box() {
        let layout = Layout::new(faces());
        let long = "Подписка на видеонаблюдение ".repeat(6);
        let lines = layout.lines(&[(&long, BODY)], 150.0);
        assert!(lines.len() > 3, "{}", lines.len());
        for line in &lines {
            let (x, s, t) = line.last().unwrap();
            assert!(x + faces().regular.width(t, s.size) <= 150.0);
        }
        let word = "Ж".repeat(80);
        let cut = layout.lines(&[(&word, BODY)], 100.0);
        let joined: String = cut.iter().flatten().map(|(_, _, t)| t.as_str()).collect();
        assert_eq!(joined, word, "nothing of a cut word is lost");
        assert!(cut.len() > 1);
    }

    #[test]
    fn many_positions_continue_on_the_next_page_under_the_header_again() {
        let doc = crate::pages::bank_document::Document {
            title: "Счёт на оплату № 1 от 1 января 2026 г.".to_owned(),
            bank: vec![("БИК".to_owned(), "044525225".to_owned())],
            supplier: "ООО «Копейка»".to_owned(),
            buyer: "ООО «Ромашка»".to_owned(),
            rows: (0..120)
                .map(|i| {
                    [
                        format!("Позиция {i}"),
                        "1".to_owned(),
                        "шт".to_owned(),
                        "1,00".to_owned(),
                        "1,00".to_owned(),
                    ]
                })
                .collect(),
            totals: vec![("Итого:".to_owned(), "120,00".to_owned())],
            summary: String::new(),
            in_words: String::new(),
            qr: None,
        };
        let layout = lay_out(faces(), &crate::pages::transfer::pdf_blocks(&doc));
        assert!(layout.pages.len() >= 2);
        for page in &layout.pages[1..] {
            let texts = texts(page);
            if texts.iter().any(|t| t.starts_with("Позиция")) {
                assert_eq!(texts[0], "№", "the header starts every page of the table");
            }
        }
        let all: Vec<&str> = layout.pages.iter().flat_map(|p| texts(p)).collect();
        assert!(all.contains(&"119"), "the last position is drawn");
        for page in &layout.pages {
            for mark in page {
                if let Mark::Text { top, .. } = mark {
                    assert!(*top < PAGE_HEIGHT - MARGIN, "{top}");
                }
            }
        }
    }
}
