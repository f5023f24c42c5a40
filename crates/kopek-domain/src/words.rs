//! Amounts in Russian words, as a «Счёт на оплату» states its total:
//! «Девятьсот девяносто тысяч рублей 00 копеек».

const UNITS: [&str; 10] = [
    "",
    "один",
    "два",
    "три",
    "четыре",
    "пять",
    "шесть",
    "семь",
    "восемь",
    "девять",
];
const TEENS: [&str; 10] = [
    "десять",
    "одиннадцать",
    "двенадцать",
    "тринадцать",
    "четырнадцать",
    "пятнадцать",
    "шестнадцать",
    "семнадцать",
    "восемнадцать",
    "девятнадцать",
];
const TENS: [&str; 10] = [
    "",
    "",
    "двадцать",
    "тридцать",
    "сорок",
    "пятьдесят",
    "шестьдесят",
    "семьдесят",
    "восемьдесят",
    "девяносто",
];
const HUNDREDS: [&str; 10] = [
    "",
    "сто",
    "двести",
    "триста",
    "четыреста",
    "пятьсот",
    "шестьсот",
    "семьсот",
    "восемьсот",
    "девятьсот",
];

/// Groups of three digits above the units: (one, few, many, feminine).
const SCALES: [(&str, &str, &str, bool); 5] = [
    ("тысяча", "тысячи", "тысяч", true),
    ("миллион", "миллиона", "миллионов", false),
    ("миллиард", "миллиарда", "миллиардов", false),
    ("триллион", "триллиона", "триллионов", false),
    ("квадриллион", "квадриллиона", "квадриллионов", false),
];

/// The form a count takes: 1 рубль, 2 рубля, 5 рублей (11–14 take the last).
pub fn plural<'a>(n: u64, one: &'a str, few: &'a str, many: &'a str) -> &'a str {
    match (n % 100, n % 10) {
        (11..=14, _) => many,
        (_, 1) => one,
        (_, 2..=4) => few,
        _ => many,
    }
}

fn triad(n: u64, feminine: bool, out: &mut Vec<&'static str>) {
    let (h, t, u) = (
        (n / 100) as usize,
        (n / 10 % 10) as usize,
        (n % 10) as usize,
    );
    out.push(HUNDREDS[h]);
    if t == 1 {
        out.push(TEENS[u]);
    } else {
        out.push(TENS[t]);
        // Before a feminine noun: «одна тысяча», «две тысячи».
        out.push(match (feminine, u) {
            (true, 1) => "одна",
            (true, 2) => "две",
            _ => UNITS[u],
        });
    }
}

/// A whole number in words, masculine: `1001` → «одна тысяча один».
pub fn number(n: u64) -> String {
    if n == 0 {
        return "ноль".to_owned();
    }
    let mut groups = Vec::new();
    let mut rest = n;
    while rest > 0 {
        groups.push(rest % 1000);
        rest /= 1000;
    }
    let mut words: Vec<&'static str> = Vec::new();
    for (i, group) in groups.iter().enumerate().rev() {
        if *group == 0 {
            continue;
        }
        match i.checked_sub(1).and_then(|s| SCALES.get(s)) {
            Some((one, few, many, feminine)) => {
                triad(*group, *feminine, &mut words);
                words.push(plural(*group, one, few, many));
            }
            None => triad(*group, false, &mut words),
        }
    }
    words.retain(|w| !w.is_empty());
    words.join(" ")
}

/// Kopecks as a ruble amount in words, the first letter capitalised.
pub fn rubles(kopecks: i64) -> String {
    let sign = if kopecks < 0 { "минус " } else { "" };
    let abs = kopecks.unsigned_abs();
    let (rub, kop) = (abs / 100, abs % 100);
    let text = format!(
        "{sign}{} {} {kop:02} {}",
        number(rub),
        plural(rub, "рубль", "рубля", "рублей"),
        plural(kop, "копейка", "копейки", "копеек")
    );
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_words() {
        assert_eq!(number(0), "ноль");
        assert_eq!(number(1), "один");
        assert_eq!(number(12), "двенадцать");
        assert_eq!(number(21), "двадцать один");
        assert_eq!(number(101), "сто один");
        assert_eq!(number(1000), "одна тысяча");
        assert_eq!(number(2002), "две тысячи два");
        assert_eq!(number(11_000), "одиннадцать тысяч");
        assert_eq!(number(990_000), "девятьсот девяносто тысяч");
        assert_eq!(number(1_000_000), "один миллион");
        assert_eq!(number(3_500_004), "три миллиона пятьсот тысяч четыре");
    }

    #[test]
    fn ruble_amounts() {
        assert_eq!(
            rubles(99_000_000),
            "Девятьсот девяносто тысяч рублей 00 копеек"
        );
        assert_eq!(rubles(101), "Один рубль 01 копейка");
        assert_eq!(rubles(222), "Два рубля 22 копейки");
        assert_eq!(rubles(1_111), "Одиннадцать рублей 11 копеек");
        assert_eq!(rubles(0), "Ноль рублей 00 копеек");
        assert_eq!(rubles(-150), "Минус один рубль 50 копеек");
        assert!(rubles(i64::MAX).starts_with("Девяносто два квадриллиона"));
        assert!(rubles(i64::MIN).starts_with("Минус"));
    }
}
