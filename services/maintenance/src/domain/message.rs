//! The text of a reminder, in the customer's language: a title and a body
//! per kind of reminder, from templates with named fields (`{product}`,
//! `{task}`, `{date}`, `{time}`, `{centre}`). Turkish and English so far;
//! any other language gets English. Dates and times are the customer's
//! local ones, written the way each language writes them.

use aftercare_kernel::zone::Tz;
use aftercare_kernel::{DateTime, Datelike, NaiveDate, Utc};

/// The languages messages are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    English,
    Turkish,
}

impl Language {
    /// The language of a BCP 47 tag: its primary subtag, English when
    /// there is no template in it.
    pub fn of(locale: &str) -> Language {
        let primary = locale.split(['-', '_']).next().unwrap_or("");
        if primary.eq_ignore_ascii_case("tr") {
            Language::Turkish
        } else {
            Language::English
        }
    }
}

/// Whether `tag` looks like a BCP 47 language tag: a 2-3 letter language,
/// then subtags of 1-8 letters or digits ("tr", "en-GB", "zh-Hant-TW").
pub fn is_locale(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let language = parts.next().unwrap_or("");
    tag.len() <= 35
        && (2..=3).contains(&language.len())
        && language.bytes().all(|b| b.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Which message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// Due soon.
    Lead,
    /// Due today.
    Due,
    /// Past due.
    Overdue,
    /// A booked visit for an occurrence's task, soon.
    Visit,
    /// A booked visit for a warranty claim, soon.
    Repair,
}

/// What a message says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts<'a> {
    pub notice: Notice,
    pub product: &'a str,
    pub task: &'a str,
    pub due: NaiveDate,
    /// For a visit: when and where.
    pub visit: Option<(DateTime<Utc>, &'a str)>,
    /// The zone dates and times are told in (for a visit, the centre's).
    pub zone: Tz,
}

/// A message ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub title: String,
    pub body: String,
}

/// (title, body) per language and notice.
fn template(language: Language, notice: Notice) -> (&'static str, &'static str) {
    use Language::*;
    use Notice::*;
    match (language, notice) {
        (English, Lead) => (
            "{task} is due soon",
            "Your {product} needs {task} on {date}. Book a visit or mark it done in the app.",
        ),
        (English, Due) => ("{task} is due", "Your {product} needs {task}: it is due on {date}."),
        (English, Overdue) => (
            "{task} is overdue",
            "Your {product} needed {task} on {date}. Looking after it keeps it working longer: book a visit or mark it done in the app.",
        ),
        (English, Visit) => (
            "Your service visit on {date}",
            "{task} for your {product} at {centre} on {date} at {time}.",
        ),
        (English, Repair) => (
            "Your service visit on {date}",
            "Your {product}, for its warranty claim: at {centre} on {date} at {time}.",
        ),
        (Turkish, Lead) => (
            "{task} zamanı yaklaşıyor",
            "{product} ürününüz için {task} {date} tarihinde yapılmalı. Uygulamadan randevu alabilir ya da yapıldı olarak işaretleyebilirsiniz.",
        ),
        (Turkish, Due) => (
            "{task} zamanı geldi",
            "{product} ürününüz için {task} zamanı geldi: {date}.",
        ),
        (Turkish, Overdue) => (
            "{task} gecikti",
            "{product} ürününüz için {task} {date} tarihinde yapılmalıydı. Bakımlı ürün daha uzun ömürlüdür: uygulamadan randevu alabilir ya da yapıldı olarak işaretleyebilirsiniz.",
        ),
        (Turkish, Visit) => (
            "Servis randevunuz: {date}",
            "{product} ürününüz için {task}: {centre}, {date} saat {time}.",
        ),
        (Turkish, Repair) => (
            "Servis randevunuz: {date}",
            "Garanti başvurunuz için {product} ürününüz: {centre}, {date} saat {time}.",
        ),
    }
}

const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const MONTHS_TR: [&str; 12] = [
    "Ocak", "Şubat", "Mart", "Nisan", "Mayıs", "Haziran", "Temmuz", "Ağustos", "Eylül", "Ekim", "Kasım", "Aralık",
];

fn date(language: Language, d: NaiveDate) -> String {
    let month = d.month0() as usize;
    match language {
        Language::English => format!("{} {} {}", d.day(), MONTHS_EN[month], d.year()),
        Language::Turkish => format!("{} {} {}", d.day(), MONTHS_TR[month], d.year()),
    }
}

/// The message for `facts` in `language`.
pub fn render(language: Language, facts: &Facts<'_>) -> Message {
    let (title, body) = template(language, facts.notice);
    let (day, time, centre) = match facts.visit {
        Some((at, centre)) => {
            let local = at.with_timezone(&facts.zone);
            (local.date_naive(), local.format("%H:%M").to_string(), centre)
        }
        None => (facts.due, String::new(), ""),
    };
    let fields = [
        ("product", facts.product),
        ("task", facts.task),
        ("date", &date(language, day)),
        ("time", &time),
        ("centre", centre),
    ];
    Message {
        title: fill(title, &fields),
        body: fill(body, &fields),
    }
}

/// `template` with each `{name}` replaced by its field, in one pass: a
/// value that itself contains `{task}` (a product named so) stays as it
/// is.
fn fill(template: &str, fields: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}').and_then(|close| {
            let name = &after[..close];
            fields.iter().find(|(n, _)| *n == name).map(|(_, v)| (close, *v))
        }) {
            Some((close, value)) => {
                out.push_str(value);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(notice: Notice) -> Facts<'static> {
        Facts {
            notice,
            product: "Espresso machine",
            task: "Descaling",
            due: "2027-02-28".parse().unwrap(),
            visit: None,
            zone: "Europe/Istanbul".parse().unwrap(),
        }
    }

    #[test]
    fn each_notice_reads_in_turkish_and_english() {
        let m = render(Language::Turkish, &facts(Notice::Lead));
        assert_eq!(m.title, "Descaling zamanı yaklaşıyor");
        assert_eq!(
            m.body,
            "Espresso machine ürününüz için Descaling 28 Şubat 2027 tarihinde yapılmalı. \
             Uygulamadan randevu alabilir ya da yapıldı olarak işaretleyebilirsiniz."
        );
        let m = render(Language::English, &facts(Notice::Overdue));
        assert_eq!(m.title, "Descaling is overdue");
        assert!(
            m.body
                .starts_with("Your Espresso machine needed Descaling on 28 February 2027.")
        );
        for language in [Language::English, Language::Turkish] {
            for notice in [
                Notice::Lead,
                Notice::Due,
                Notice::Overdue,
                Notice::Visit,
                Notice::Repair,
            ] {
                let m = render(language, &facts(notice));
                assert!(
                    !m.title.contains('{') && !m.body.contains('{'),
                    "{language:?} {notice:?}: {m:?}"
                );
            }
        }
    }

    #[test]
    fn a_visit_is_told_in_the_local_time_of_its_centre() {
        let at: DateTime<Utc> = "2027-03-01T07:30:00Z".parse().unwrap();
        let visit = Facts {
            visit: Some((at, "Kadıköy")),
            ..facts(Notice::Visit)
        };
        assert_eq!(
            render(Language::Turkish, &visit).body,
            "Espresso machine ürününüz için Descaling: Kadıköy, 1 Mart 2027 saat 10:30."
        );
        assert_eq!(
            render(Language::Turkish, &visit).title,
            "Servis randevunuz: 1 Mart 2027"
        );
        // A centre in New York: its own clock's time and day.
        let new_york = Facts {
            zone: "America/New_York".parse().unwrap(),
            visit: Some(("2027-03-02T03:30:00Z".parse().unwrap(), "Brooklyn")),
            ..visit
        };
        assert_eq!(
            render(Language::English, &new_york).body,
            "Descaling for your Espresso machine at Brooklyn on 1 March 2027 at 22:30."
        );
    }

    #[test]
    fn fields_are_filled_once_and_braces_in_names_stay() {
        let odd = Facts {
            product: "{task} {unknown",
            task: "{date}",
            ..facts(Notice::Due)
        };
        let m = render(Language::English, &odd);
        assert_eq!(m.title, "{date} is due");
        assert_eq!(
            m.body,
            "Your {task} {unknown needs {date}: it is due on 28 February 2027."
        );
    }

    #[test]
    fn languages_come_from_the_primary_subtag() {
        assert_eq!(Language::of("tr"), Language::Turkish);
        assert_eq!(Language::of("tr-TR"), Language::Turkish);
        assert_eq!(Language::of("TR"), Language::Turkish);
        assert_eq!(Language::of("en-GB"), Language::English);
        assert_eq!(Language::of("de"), Language::English);
        assert_eq!(Language::of(""), Language::English);
        for good in ["tr", "en-GB", "zh-Hant-TW", "es-419"] {
            assert!(is_locale(good), "{good}");
        }
        for bad in [
            "",
            "t",
            "turkish",
            "tr-",
            "tr--TR",
            "tr TR",
            "tr-TR-abcdefghi",
            "ünk",
            "a-".repeat(20).as_str(),
        ] {
            assert!(!is_locale(bad), "{bad}");
        }
    }
}
