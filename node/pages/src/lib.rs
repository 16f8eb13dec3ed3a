//! The page kit: what every domain's pages share. One layout and one stylesheet (mobile-first,
//! no script, no front-end build step), templates checked at compile time ([`maud`]), and one
//! way to speak Simplified Chinese or English and to write dates for people.
//!
//! - [`Language`]: chosen per request from the page's own switch (`?lang=zh`, `?lang=en`),
//!   else the browser's `Accept-Language`, else English.
//! - [`Text`]: a fixed text in both languages; pages keep theirs in one table per page.
//! - [`date_from_yymmdd`], [`date_time`]: `2028-11-30` and `2028年11月30日`, never `281130`.
//! - [`layout`]: the HTML document around a page's body, with the language switch.

pub use maud::{DOCTYPE, Markup, PreEscaped, html};

/// The languages pages speak. The people scanning packs, pharmacists and store customers are
/// mostly in China; programs and visitors from elsewhere read English.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Language {
    English,
    Chinese,
}

/// Longest `Accept-Language` header read; the rest is ignored.
pub const ACCEPT_LANGUAGE_BYTES_MAX: usize = 1024;

impl Language {
    pub const ALL: [Language; 2] = [Language::Chinese, Language::English];

    /// The HTML `lang` attribute.
    pub fn tag(self) -> &'static str {
        match self {
            Language::English => "en",
            Language::Chinese => "zh-CN",
        }
    }

    /// The value of the page switch's `lang` parameter.
    pub fn parameter(self) -> &'static str {
        match self {
            Language::English => "en",
            Language::Chinese => "zh",
        }
    }

    /// The language's own name, for the switch.
    pub fn own_name(self) -> &'static str {
        match self {
            Language::English => "English",
            Language::Chinese => "中文",
        }
    }

    fn of_tag(tag: &str) -> Option<Language> {
        let primary = tag
            .split(['-', '_'])
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match primary.as_str() {
            "zh" => Some(Language::Chinese),
            "en" => Some(Language::English),
            _ => None,
        }
    }

    /// The page's switch (`lang` parameter) first, then the highest-weighted language of the
    /// `Accept-Language` header that pages speak (RFC 9110 §12.5.4), else English.
    pub fn negotiate(parameter: Option<&str>, accept_language: Option<&str>) -> Language {
        if let Some(chosen) = parameter.and_then(Language::of_tag) {
            return chosen;
        }
        let header = accept_language.unwrap_or("");
        let header = &header[..floor_char_boundary(header, ACCEPT_LANGUAGE_BYTES_MAX)];
        let mut best: Option<(u16, Language)> = None;
        for range in header.split(',') {
            let mut parts = range.split(';');
            let Some(language) = Language::of_tag(parts.next().unwrap_or("")) else {
                continue;
            };
            let weight = parts
                .find_map(|part| part.trim().strip_prefix("q="))
                .map_or(1000, quality_per_mille);
            // The first of equal weights wins: the header lists preferences in order.
            if weight > 0 && best.is_none_or(|(known, _)| weight > known) {
                best = Some((weight, language));
            }
        }
        best.map_or(Language::English, |(_, language)| language)
    }
}

/// The largest index at most `index` that is a character boundary of `text`.
fn floor_char_boundary(text: &str, index: usize) -> usize {
    let mut end = index.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    end
}

/// An RFC 9110 quality value (`0`, `0.8`, `1.000`) in thousandths; malformed is 0 (ignored).
fn quality_per_mille(text: &str) -> u16 {
    let text = text.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|byte| byte.is_ascii_digit()) {
        return 0;
    }
    let thousandths = format!("{fraction:0<3}").parse::<u16>().unwrap_or(0);
    match whole {
        "0" => thousandths,
        "1" if thousandths == 0 => 1000,
        _ => 0,
    }
}

/// A fixed text in both languages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Text {
    pub en: &'static str,
    pub zh: &'static str,
}

impl Text {
    pub const fn new(en: &'static str, zh: &'static str) -> Text {
        Text { en, zh }
    }

    pub fn get(self, language: Language) -> &'static str {
        match language {
            Language::English => self.en,
            Language::Chinese => self.zh,
        }
    }
}

/// (year, month, day) of a day count since 1970-01-01 (proleptic Gregorian).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A date for people: `2028-11-30` in English, `2028年11月30日` in Chinese.
pub fn date(language: Language, year: i64, month: u32, day: u32) -> String {
    match language {
        Language::English => format!("{year:04}-{month:02}-{day:02}"),
        Language::Chinese => format!("{year}年{month}月{day}日"),
    }
}

/// A GS1 date (YYMMDD, as on a pack's label and in AI 17) for people. Day `00` means the whole
/// month (GS1 General Specifications §3.4.6), so it is written as the month. `None` when the
/// text is not such a date.
pub fn date_from_yymmdd(language: Language, text: &str) -> Option<String> {
    if text.len() != 6 || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let number = |range: std::ops::Range<usize>| text[range].parse::<u32>().ok();
    let (year, month, day) = (
        2000 + i64::from(number(0..2)?),
        number(2..4)?,
        number(4..6)?,
    );
    if !(1..=12).contains(&month) || day > 31 {
        return None;
    }
    Some(match (day, language) {
        (0, Language::English) => format!("{year:04}-{month:02}"),
        (0, Language::Chinese) => format!("{year}年{month}月"),
        _ => date(language, year, month, day),
    })
}

/// A moment for people, in UTC: `2026-11-26 00:31 UTC`, `2026年11月26日 00:31（UTC）`.
pub fn date_time(language: Language, ms: u64) -> String {
    let seconds = ms / 1000;
    let (year, month, day) = civil_from_days((seconds / 86_400) as i64);
    let minutes_of_day = (seconds % 86_400) / 60;
    let clock = format!("{:02}:{:02}", minutes_of_day / 60, minutes_of_day % 60);
    match language {
        Language::English => format!("{} {clock} UTC", date(language, year, month, day)),
        Language::Chinese => format!("{} {clock}（UTC）", date(language, year, month, day)),
    }
}

/// The links of the language switch: for each language, `?` followed by the page's own query
/// parameters (`kept`, already encoded as `name=value`) and its `lang`.
pub fn switch_links(kept: &[String]) -> Vec<(Language, String)> {
    Language::ALL
        .iter()
        .map(|language| {
            let mut pairs: Vec<String> = kept.to_vec();
            pairs.push(format!("lang={}", language.parameter()));
            (*language, format!("?{}", pairs.join("&")))
        })
        .collect()
}

/// The one stylesheet of every page: mobile first, readable at 390 px, system fonts with a
/// Chinese fallback.
pub const STYLESHEET: &str = r#"
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans SC","PingFang SC","Microsoft YaHei",sans-serif;background:#f4f6f8;color:#1d2733}
main{max-width:34rem;margin:0 auto;padding:1rem}
nav.languages{text-align:right;font-size:.9rem;margin-bottom:.6rem}
nav.languages a,nav.languages strong{margin-left:.8rem}
.verdict{border-radius:12px;padding:1rem 1.2rem;color:#fff}
.verdict h1{margin:0 0 .3rem;font-size:1.6rem}
.verdict p{margin:0;line-height:1.4}
.ok{background:#1b7f4b} .warn{background:#b86e00} .bad{background:#b3261e}
section{background:#fff;border-radius:12px;margin-top:1rem;padding:1rem 1.2rem;box-shadow:0 1px 2px rgba(0,0,0,.08)}
h2{font-size:1.05rem;margin:0 0 .6rem}
table{width:100%;border-collapse:collapse} th{text-align:left;font-weight:600;color:#5b6774;padding:.25rem .5rem .25rem 0;vertical-align:top;width:40%} td{padding:.25rem 0;overflow-wrap:anywhere}
ol{list-style:none;margin:0;padding:0;border-left:3px solid #c9d3dd}
li{position:relative;margin:0 0 .9rem .9rem}
li::before{content:"";position:absolute;left:-1.35rem;top:.3rem;width:.7rem;height:.7rem;border-radius:50%;background:#3d6fb6}
.when{font-size:.85rem;color:#5b6774} .what{font-weight:600} .role{color:#5b6774;font-size:.85rem} .block{font-size:.75rem;color:#8a96a3}
.small{font-size:.85rem;color:#5b6774;line-height:1.4}
code{overflow-wrap:anywhere}
a{color:#245da8}
"#;

/// A page: its language, title, the query parameters its switch keeps, and its body.
#[derive(Debug)]
pub struct Page<'a> {
    pub language: Language,
    pub title: &'a str,
    /// The page's own query parameters as `name=value` (encoded), kept when switching language.
    pub kept_parameters: &'a [String],
    pub body: Markup,
}

/// The whole document around a page's body: one layout for every domain.
pub fn layout(page: Page<'_>) -> Markup {
    let language = page.language;
    html! {
        (DOCTYPE)
        html lang=(language.tag()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (page.title) }
                style { (PreEscaped(STYLESHEET)) }
            }
            body {
                main {
                    nav.languages {
                        @for (other, href) in switch_links(page.kept_parameters) {
                            @if other == language {
                                strong lang=(other.tag()) { (other.own_name()) }
                            } @else {
                                a href=(href) lang=(other.tag()) hreflang=(other.tag()) { (other.own_name()) }
                            }
                        }
                    }
                    (page.body)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_switch_wins_then_the_browser_then_english() {
        use Language::{Chinese, English};
        assert_eq!(Language::negotiate(Some("zh"), Some("en-US,en")), Chinese);
        assert_eq!(Language::negotiate(Some("en"), Some("zh-CN")), English);
        assert_eq!(
            Language::negotiate(Some("fr"), Some("zh-CN,zh;q=0.9")),
            Chinese
        );
        assert_eq!(
            Language::negotiate(None, Some("zh-CN,zh;q=0.9,en;q=0.8")),
            Chinese
        );
        assert_eq!(Language::negotiate(None, Some("en-GB,zh;q=0.5")), English);
        assert_eq!(
            Language::negotiate(None, Some("fr-FR,zh-TW;q=0.7,en;q=0.3")),
            Chinese
        );
        assert_eq!(Language::negotiate(None, Some("zh;q=0,en;q=0.1")), English);
        assert_eq!(Language::negotiate(None, Some("de,fr")), English);
        assert_eq!(Language::negotiate(None, None), English);
        assert_eq!(
            Language::negotiate(None, Some("zh;q=2,en")),
            English,
            "q above 1 is malformed"
        );
        let long = format!("{},zh", "x".repeat(ACCEPT_LANGUAGE_BYTES_MAX));
        assert_eq!(
            Language::negotiate(None, Some(&long)),
            English,
            "read up to the limit"
        );
        assert_eq!(Language::negotiate(None, Some("中文,zh")), Chinese);
    }

    #[test]
    fn dates_are_written_for_people() {
        use Language::{Chinese, English};
        assert_eq!(
            date_from_yymmdd(English, "281130").as_deref(),
            Some("2028-11-30")
        );
        assert_eq!(
            date_from_yymmdd(Chinese, "281130").as_deref(),
            Some("2028年11月30日")
        );
        assert_eq!(
            date_from_yymmdd(English, "281100").as_deref(),
            Some("2028-11")
        );
        assert_eq!(
            date_from_yymmdd(Chinese, "281100").as_deref(),
            Some("2028年11月")
        );
        assert_eq!(date_from_yymmdd(English, "281301"), None);
        assert_eq!(date_from_yymmdd(English, "28113"), None);
        assert_eq!(date_time(English, 0), "1970-01-01 00:00 UTC");
        // 2026-11-26 00:31:03 UTC
        assert_eq!(
            date_time(English, 1_795_653_063_000),
            "2026-11-26 00:31 UTC"
        );
        assert_eq!(
            date_time(Chinese, 1_795_653_063_000),
            "2026年11月26日 00:31（UTC）"
        );
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn the_layout_switches_language_and_keeps_the_page_parameters() {
        let kept = ["17=281231".to_string()];
        let page = layout(Page {
            language: Language::Chinese,
            title: "<标题>",
            kept_parameters: &kept,
            body: html! { p { "正文" } },
        })
        .into_string();
        assert!(
            page.starts_with("<!DOCTYPE html><html lang=\"zh-CN\">"),
            "{page}"
        );
        assert!(
            page.contains("<title>&lt;标题&gt;</title>"),
            "titles are escaped"
        );
        assert!(page.contains("href=\"?17=281231&amp;lang=en\""), "{page}");
        assert!(page.contains("<strong lang=\"zh-CN\">中文</strong>"));
        assert!(page.contains("<p>正文</p>"));
    }
}
