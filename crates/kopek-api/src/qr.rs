//! QR codes as their modules, drawn by the HTML pages as SVG and by the PDFs.

/// A QR code's modules, row by row, without the quiet zone.
pub struct Qr {
    pub width: usize,
    pub dark: Vec<bool>,
}

impl Qr {
    /// The code of `text`, at error correction level M as banking apps expect.
    pub fn encode(text: &str) -> Option<Qr> {
        let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
            .map_err(|e| tracing::error!(error = %e, "the payment QR code cannot be made"))
            .ok()?;
        Some(Qr {
            width: code.width(),
            dark: code
                .to_colors()
                .into_iter()
                .map(|c| c == qrcode::Color::Dark)
                .collect(),
        })
    }

    /// The dark modules as (column, row).
    pub fn modules(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.dark
            .iter()
            .enumerate()
            .filter(|(_, dark)| **dark)
            .map(|(i, _)| (i % self.width, i / self.width))
    }
}
