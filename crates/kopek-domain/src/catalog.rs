//! The catalog: products, their plans, and each plan's periods with prices.
//! Prices are integer minor units and include VAT.

use crate::closing::Schedule;
use crate::error::{Error, FieldError, Reason};
use crate::ids::is_guid;
use crate::money::{Currency, Money};
use crate::vat::VatKind;
use std::collections::HashSet;

/// Everything on sale. Replaced whole; each replacement is a new version.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    pub products: Vec<Product>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Product {
    /// Unique across the catalog's products and plans.
    #[schema(format = "uuid")]
    pub guid: String,
    pub code: String,
    pub name: String,
    /// When its closing documents (УПД) are made: `at_payment` (the default) or
    /// `monthly`.
    #[serde(default, skip_serializing_if = "Schedule::is_default")]
    pub closing: Schedule,
    pub plans: Vec<Plan>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    #[schema(format = "uuid")]
    pub guid: String,
    pub code: String,
    pub name: String,
    /// Shown with the plan; no rules attach to them.
    #[serde(default)]
    pub features: Vec<String>,
    #[serde(default)]
    pub vat: VatKind,
    /// At least one; each length of period at most once.
    pub periods: Vec<Period>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Period {
    #[schema(minimum = 1, maximum = 60)]
    pub period_in_months: i64,
    /// ISO 4217 code: RUB, KZT, USD, EUR or GBP.
    #[serde(default = "rub")]
    #[schema(value_type = String, default = "RUB")]
    pub currency: Currency,
    /// The list price of the whole period, per unit (seat, point of sale), in
    /// minor units with VAT.
    #[schema(minimum = 0)]
    pub base_price: i64,
    /// What the period costs after discounts, per unit, in minor units with VAT;
    /// at most `base_price`.
    #[schema(minimum = 0)]
    pub final_price: i64,
}

fn rub() -> Currency {
    Currency::Rub
}

impl Period {
    /// What the period costs, per unit.
    pub fn price(&self) -> Money {
        Money::new(self.final_price, self.currency)
    }

    /// The list price, per unit.
    pub fn list_price(&self) -> Money {
        Money::new(self.base_price, self.currency)
    }
}

pub const MAX_PERIOD_MONTHS: i64 = 60;

impl Catalog {
    /// Checks what the types cannot: unique guids, sane periods and prices.
    pub fn validate(&self) -> Result<(), Error> {
        let mut errors = Vec::new();
        let mut guids = HashSet::new();
        let mut guid = |errors: &mut Vec<FieldError>, at: String, g: &str| {
            if !is_guid(g) {
                errors.push(FieldError::new(
                    at,
                    Reason::Format {
                        en: "a guid",
                        ru: "guid",
                    },
                ));
            } else if !guids.insert(g.to_ascii_lowercase()) {
                errors.push(FieldError::new(at, Reason::Taken));
            }
        };
        for (i, product) in self.products.iter().enumerate() {
            let at = format!("products.{i}");
            guid(&mut errors, format!("{at}.guid"), &product.guid);
            if product.name.trim().is_empty() {
                errors.push(FieldError::new(format!("{at}.name"), Reason::Required));
            }
            for (j, plan) in product.plans.iter().enumerate() {
                let at = format!("{at}.plans.{j}");
                guid(&mut errors, format!("{at}.guid"), &plan.guid);
                if plan.name.trim().is_empty() {
                    errors.push(FieldError::new(format!("{at}.name"), Reason::Required));
                }
                if plan.periods.is_empty() {
                    errors.push(FieldError::new(format!("{at}.periods"), Reason::Required));
                }
                let mut months = HashSet::new();
                for (k, p) in plan.periods.iter().enumerate() {
                    let at = format!("{at}.periods.{k}");
                    if !(1..=MAX_PERIOD_MONTHS).contains(&p.period_in_months) {
                        errors.push(FieldError::new(
                            format!("{at}.period_in_months"),
                            Reason::Format {
                                en: "between 1 and 60",
                                ru: "от 1 до 60",
                            },
                        ));
                    } else if !months.insert(p.period_in_months) {
                        errors.push(FieldError::new(
                            format!("{at}.period_in_months"),
                            Reason::Taken,
                        ));
                    }
                    if p.base_price < 0 || p.final_price < 0 {
                        errors.push(FieldError::new(
                            format!("{at}.final_price"),
                            Reason::Format {
                                en: "zero or more",
                                ru: "неотрицательным",
                            },
                        ));
                    } else if p.final_price > p.base_price {
                        errors.push(FieldError::new(
                            format!("{at}.final_price"),
                            Reason::Format {
                                en: "at most the base price",
                                ru: "не больше базовой цены",
                            },
                        ));
                    }
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation(errors))
        }
    }

    pub fn product(&self, guid: &str) -> Option<&Product> {
        self.products
            .iter()
            .find(|p| p.guid.eq_ignore_ascii_case(guid))
    }
}

impl Product {
    pub fn plan(&self, guid: &str) -> Option<&Plan> {
        self.plans
            .iter()
            .find(|p| p.guid.eq_ignore_ascii_case(guid))
    }
}

impl Plan {
    pub fn period(&self, months: i64) -> Option<&Period> {
        self.periods.iter().find(|p| p.period_in_months == months)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn sample() -> Catalog {
        serde_json::from_value(serde_json::json!({"products": [{
            "guid": "6f1c2a52-1b1e-4c55-9b7e-0a5d4f3e2a10", "code": "pos", "name": "POS",
            "plans": [{"guid": "6f1c2a52-1b1e-4c55-9b7e-0a5d4f3e2a11", "code": "start", "name": "Start",
                "periods": [{"period_in_months": 1, "base_price": 1000, "final_price": 900}]}]
        }]}))
        .unwrap()
    }

    #[test]
    fn a_sane_catalog_passes_and_mistakes_are_named() {
        let good = sample();
        good.validate().unwrap();
        let plan = good
            .product("6F1C2A52-1B1E-4C55-9B7E-0A5D4F3E2A10")
            .unwrap()
            .plan("6f1c2a52-1b1e-4c55-9b7e-0a5d4f3e2a11")
            .unwrap();
        assert_eq!(plan.period(1).unwrap().currency, Currency::Rub);
        assert_eq!(
            plan.period(1).unwrap().price(),
            Money::new(900, Currency::Rub)
        );
        assert_eq!(
            plan.period(1).unwrap().list_price(),
            Money::new(1000, Currency::Rub)
        );
        assert!(plan.period(12).is_none());

        let mut bad = good.clone();
        bad.products[0].plans[0].guid = bad.products[0].guid.clone();
        bad.products[0].plans[0].periods.push(Period {
            period_in_months: 1,
            currency: Currency::Usd,
            base_price: 5,
            final_price: 6,
        });
        let Err(Error::Validation(f)) = bad.validate() else {
            panic!()
        };
        let fields: Vec<&str> = f.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "products.0.plans.0.guid",
                "products.0.plans.0.periods.1.period_in_months",
                "products.0.plans.0.periods.1.final_price"
            ]
        );
        assert!(
            serde_json::from_value::<Catalog>(serde_json::json!({"products": [], "typo": 1}))
                .is_err()
        );
        // An unknown currency is refused by its type, before any rule runs.
        let mut doc = serde_json::to_value(sample()).unwrap();
        doc["products"][0]["plans"][0]["periods"][0]["currency"] = "XXX".into();
        let err = serde_json::from_value::<Catalog>(doc).unwrap_err();
        assert!(err.to_string().contains("one of RUB"), "{err}");
    }
}
