//! What a survey's message says, in the customer's language (Turkish or
//! English; any other language gets English).

use super::CaseType;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Turkish,
    English,
}

impl Language {
    /// From a BCP 47 tag ("tr", "tr-TR", "en-GB"); English by default.
    pub fn of(tag: &str) -> Language {
        let primary = tag.split(['-', '_']).next().unwrap_or_default();
        if primary.eq_ignore_ascii_case("tr") {
            Language::Turkish
        } else {
            Language::English
        }
    }

    pub fn tag(self) -> &'static str {
        match self {
            Language::Turkish => "tr",
            Language::English => "en",
        }
    }
}

pub struct Text {
    pub title: &'static str,
    pub body: &'static str,
}

pub fn survey(language: Language, case: CaseType) -> Text {
    match (language, case) {
        (Language::English, CaseType::Return) => Text {
            title: "How did your return go?",
            body: "Tell us in a minute how we handled your return.",
        },
        (Language::English, CaseType::Claim) => Text {
            title: "How did your warranty claim go?",
            body: "Tell us in a minute how we handled your claim.",
        },
        (Language::English, CaseType::Maintenance) => Text {
            title: "How was your maintenance?",
            body: "Tell us in a minute how your product's service went.",
        },
        (Language::Turkish, CaseType::Return) => Text {
            title: "İadeniz nasıl geçti?",
            body: "İadenizle nasıl ilgilendiğimizi bir dakikada bize anlatın.",
        },
        (Language::Turkish, CaseType::Claim) => Text {
            title: "Garanti talebiniz nasıl geçti?",
            body: "Talebinizle nasıl ilgilendiğimizi bir dakikada bize anlatın.",
        },
        (Language::Turkish, CaseType::Maintenance) => Text {
            title: "Bakımınız nasıl geçti?",
            body: "Ürününüzün bakımının nasıl geçtiğini bir dakikada bize anlatın.",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turkish_tags_get_turkish_and_the_rest_english() {
        assert_eq!(Language::of("tr"), Language::Turkish);
        assert_eq!(Language::of("TR-tr"), Language::Turkish);
        assert_eq!(Language::of("en-GB"), Language::English);
        assert_eq!(Language::of("de"), Language::English);
        assert_eq!(Language::of(""), Language::English);
        assert_eq!(
            survey(Language::Turkish, CaseType::Return).title,
            "İadeniz nasıl geçti?"
        );
    }
}
