//! The language of human-readable messages, chosen by `Accept-Language`.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    Ru,
}

impl Lang {
    /// Picks the first supported language of an `Accept-Language` value, honouring
    /// q-weights; anything unknown falls back to English.
    pub fn from_accept_language(header: &str) -> Lang {
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',') {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q=").map(str::to_owned))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            let primary = tag.split('-').next().unwrap_or("");
            let lang = match primary {
                "ru" => Lang::Ru,
                "en" => Lang::En,
                _ => continue,
            };
            if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l).unwrap_or_default()
    }

    pub fn as_str(self) -> &'static str {
        self.pick("en", "ru")
    }

    /// `en` or `ru`, as [`Lang::as_str`] writes them.
    pub fn parse(s: &str) -> Option<Lang> {
        [Lang::En, Lang::Ru].into_iter().find(|l| l.as_str() == s)
    }

    /// Chooses between an English and a Russian text.
    pub fn pick<T>(self, en: T, ru: T) -> T {
        match self {
            Lang::En => en,
            Lang::Ru => ru,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Lang;

    #[test]
    fn picks_by_weight_and_falls_back_to_english() {
        assert_eq!(Lang::from_accept_language("ru-RU"), Lang::Ru);
        assert_eq!(Lang::from_accept_language("en-US,ru;q=0.9"), Lang::En);
        assert_eq!(
            Lang::from_accept_language("de, ru;q=0.5, en;q=0.4"),
            Lang::Ru
        );
        assert_eq!(Lang::from_accept_language("fr"), Lang::En);
        assert_eq!(Lang::from_accept_language(""), Lang::En);
    }
}
