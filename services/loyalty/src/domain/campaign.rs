//! Campaigns: time-boxed earn multipliers and fixed bonuses, scoped to
//! categories, SKUs and channels. The stated rule for overlaps: on each
//! line the best matching multiplier wins (campaign multipliers never
//! stack with each other; they do multiply the tier's), and an order gets
//! the best matching fixed bonus only, once.

use aftercare_kernel::channel::Channel;
use aftercare_kernel::{DateTime, Decimal, Utc, Violations, validate};

use super::{MAX_ID_LEN, MAX_POINTS};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// Every order in the campaign's time and scope.
    Order,
    /// Only a customer's first order.
    FirstOrder,
    /// A feedback survey answered: a fixed bonus, once per survey.
    Survey,
}

impl Trigger {
    pub fn as_str(&self) -> &'static str {
        match self {
            Trigger::Order => "order",
            Trigger::FirstOrder => "first_order",
            Trigger::Survey => "survey",
        }
    }

    pub fn parse(s: &str) -> Option<Trigger> {
        [Trigger::Order, Trigger::FirstOrder, Trigger::Survey]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Campaign {
    pub campaign_id: String,
    pub name: String,
    pub trigger: Trigger,
    pub starts_at: DateTime<Utc>,
    /// Exclusive.
    pub ends_at: DateTime<Utc>,
    /// 1: none.
    pub earn_multiplier: Decimal,
    /// 0: none.
    pub bonus_points: i64,
    /// Empty: every category (and so on).
    pub categories: Vec<String>,
    pub skus: Vec<String>,
    pub channels: Vec<Channel>,
    pub active: bool,
}

const MAX_MULTIPLIER: Decimal = Decimal::from_parts(10, 0, 0, false, 0);
const MAX_SCOPE: usize = 200;

impl Campaign {
    pub fn check(&self, v: &mut Violations) {
        validate::id(v, "campaign.campaign_id", &self.campaign_id, MAX_ID_LEN);
        validate::required_text(v, "campaign.name", &self.name, 200);
        if self.ends_at <= self.starts_at {
            v.add("campaign.ends_at", "must be after starts_at");
        }
        if self.earn_multiplier < Decimal::ONE
            || self.earn_multiplier > MAX_MULTIPLIER
            || self.earn_multiplier.scale() > 3
        {
            v.add("campaign.earn_multiplier", "must be 1 to 10 with at most 3 decimals");
        }
        if !(0..=MAX_POINTS).contains(&self.bonus_points) {
            v.add("campaign.bonus_points", format!("must be 0 to {MAX_POINTS}"));
        }
        if self.earn_multiplier == Decimal::ONE && self.bonus_points == 0 {
            v.add("campaign", "needs a multiplier above 1 or bonus points");
        }
        if self.trigger == Trigger::Survey {
            // A survey has no lines to multiply or scope.
            if self.earn_multiplier != Decimal::ONE {
                v.add("campaign.earn_multiplier", "must be 1 for a survey campaign");
            }
            if !self.categories.is_empty() || !self.skus.is_empty() {
                v.add("campaign.categories", "a survey campaign has no categories or SKUs");
            }
        }
        for (field, list) in [("campaign.categories", &self.categories), ("campaign.skus", &self.skus)] {
            if list.len() > MAX_SCOPE {
                v.add(field, format!("at most {MAX_SCOPE}"));
            }
            for (i, item) in list.iter().take(MAX_SCOPE).enumerate() {
                validate::id(v, &format!("{field}[{i}]"), item, MAX_ID_LEN);
            }
        }
    }

    /// Whether the campaign runs at `at`.
    fn runs_at(&self, at: DateTime<Utc>) -> bool {
        self.active && self.starts_at <= at && at < self.ends_at
    }

    fn covers(&self, line: &CampaignLine, channel: Option<Channel>) -> bool {
        (self.categories.is_empty() || self.categories.contains(&line.category))
            && (self.skus.is_empty() || self.skus.contains(&line.sku))
            && (self.channels.is_empty() || channel.is_some_and(|c| self.channels.contains(&c)))
    }
}

/// An order line as campaigns see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignLine {
    pub category: String,
    pub sku: String,
}

/// What campaigns give an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Boost {
    /// Per line, the best campaign multiplier (1 when none applies).
    pub multipliers: Vec<Decimal>,
    /// The best fixed bonus and its campaign.
    pub bonus: Option<(String, i64)>,
}

/// Applies the campaigns running when the order was placed.
pub fn boost(
    campaigns: &[Campaign],
    placed_at: DateTime<Utc>,
    channel: Option<Channel>,
    first_order: bool,
    lines: &[CampaignLine],
) -> Boost {
    let running: Vec<&Campaign> = campaigns
        .iter()
        .filter(|c| {
            c.runs_at(placed_at)
                && match c.trigger {
                    Trigger::Order => true,
                    Trigger::FirstOrder => first_order,
                    Trigger::Survey => false,
                }
        })
        .collect();
    let multipliers = lines
        .iter()
        .map(|line| {
            running
                .iter()
                .filter(|c| c.covers(line, channel))
                .map(|c| c.earn_multiplier)
                .max()
                .unwrap_or(Decimal::ONE)
        })
        .collect();
    let bonus = running
        .iter()
        .filter(|c| c.bonus_points > 0 && lines.iter().any(|l| c.covers(l, channel)))
        .max_by_key(|c| (c.bonus_points, std::cmp::Reverse(c.campaign_id.clone())))
        .map(|c| (c.campaign_id.clone(), c.bonus_points));
    Boost { multipliers, bonus }
}

/// The bonus a survey answered at `at` on `channel` earns: the best of the
/// survey campaigns running then, and its campaign.
pub fn survey_bonus(campaigns: &[Campaign], at: DateTime<Utc>, channel: Option<Channel>) -> Option<(String, i64)> {
    campaigns
        .iter()
        .filter(|c| c.trigger == Trigger::Survey && c.runs_at(at) && c.bonus_points > 0)
        .filter(|c| c.channels.is_empty() || channel.is_some_and(|ch| c.channels.contains(&ch)))
        .max_by_key(|c| (c.bonus_points, std::cmp::Reverse(c.campaign_id.clone())))
        .map(|c| (c.campaign_id.clone(), c.bonus_points))
}

#[cfg(test)]
mod tests {
    use aftercare_kernel::Duration;

    use super::*;

    fn t(days: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + Duration::days(days)
    }

    fn campaign(id: &str, multiplier: &str, bonus: i64) -> Campaign {
        Campaign {
            campaign_id: id.into(),
            name: id.into(),
            trigger: Trigger::Order,
            starts_at: t(0),
            ends_at: t(7),
            earn_multiplier: multiplier.parse().unwrap(),
            bonus_points: bonus,
            categories: vec!["kitchen".into()],
            skus: vec![],
            channels: vec![],
            active: true,
        }
    }

    fn line(category: &str) -> CampaignLine {
        CampaignLine {
            category: category.into(),
            sku: format!("SKU-{category}"),
        }
    }

    #[test]
    fn the_best_multiplier_wins_per_line_and_the_best_bonus_once_per_order() {
        let cs = [
            campaign("double", "2", 0),
            campaign("triple", "3", 0),
            campaign("b100", "1", 100),
            campaign("b500", "1", 500),
        ];
        let b = boost(&cs, t(1), None, false, &[line("kitchen"), line("garden")]);
        assert_eq!(b.multipliers, ["3".parse::<Decimal>().unwrap(), Decimal::ONE]);
        assert_eq!(b.bonus, Some(("b500".into(), 500)));
        // Outside the week: nothing.
        let b = boost(&cs, t(7), None, false, &[line("kitchen")]);
        assert_eq!((b.multipliers, b.bonus), (vec![Decimal::ONE], None));
    }

    #[test]
    fn first_order_campaigns_apply_to_the_first_order_only_and_channels_scope() {
        let mut first = campaign("welcome", "1", 1000);
        first.trigger = Trigger::FirstOrder;
        first.categories.clear();
        let mut app_only = campaign("app", "2", 0);
        app_only.channels = vec![Channel::MobileApp];
        let cs = [first, app_only];
        assert_eq!(
            boost(&cs, t(1), Some(Channel::Web), true, &[line("kitchen")]).bonus,
            Some(("welcome".into(), 1000))
        );
        assert_eq!(
            boost(&cs, t(1), Some(Channel::Web), false, &[line("kitchen")]).bonus,
            None
        );
        assert_eq!(
            boost(&cs, t(1), Some(Channel::Web), false, &[line("kitchen")]).multipliers,
            [Decimal::ONE]
        );
        assert_eq!(
            boost(&cs, t(1), Some(Channel::MobileApp), false, &[line("kitchen")]).multipliers,
            [Decimal::from(2)]
        );
    }

    #[test]
    fn survey_campaigns_reward_surveys_only_and_the_best_one_wins() {
        let survey = |id: &str, bonus: i64, channels: Vec<Channel>| Campaign {
            trigger: Trigger::Survey,
            categories: vec![],
            channels,
            ..campaign(id, "1", bonus)
        };
        let cs = [
            survey("small", 50, vec![]),
            survey("big", 80, vec![]),
            survey("email", 200, vec![Channel::Email]),
            campaign("order", "2", 500),
        ];
        assert_eq!(
            survey_bonus(&cs, t(1), Some(Channel::MobileApp)),
            Some(("big".into(), 80))
        );
        assert_eq!(
            survey_bonus(&cs, t(1), Some(Channel::Email)),
            Some(("email".into(), 200))
        );
        assert_eq!(survey_bonus(&cs, t(7), Some(Channel::Email)), None, "over");
        // An order, even a first one, gets nothing from a survey campaign.
        let order = boost(&cs, t(1), Some(Channel::Email), true, &[line("kitchen")]);
        assert_eq!(order.bonus, Some(("order".into(), 500)));
        let mut v = Violations::new();
        Campaign {
            categories: vec!["kitchen".into()],
            earn_multiplier: Decimal::from(2),
            ..survey("bad", 10, vec![])
        }
        .check(&mut v);
        let f: Vec<_> = v.finish().unwrap_err().0.into_iter().map(|x| x.field).collect();
        assert_eq!(f, ["campaign.earn_multiplier", "campaign.categories"]);
    }

    #[test]
    fn checks_its_fields() {
        let mut c = campaign("x", "1", 0);
        c.ends_at = c.starts_at;
        c.skus = vec![" a".into()];
        let mut v = Violations::new();
        c.check(&mut v);
        let f: Vec<_> = v.finish().unwrap_err().0.into_iter().map(|x| x.field).collect();
        assert_eq!(f, ["campaign.ends_at", "campaign", "campaign.skus[0]"]);
    }
}
