//! Feedback's enums on the wire, shared by the contract and the events.

use aftercare_proto::feedback as pb;

use crate::domain::CaseType;

pub fn case_type(c: CaseType) -> i32 {
    match c {
        CaseType::Return => pb::CaseType::Return,
        CaseType::Claim => pb::CaseType::Claim,
        CaseType::Maintenance => pb::CaseType::Maintenance,
    }
    .into()
}

/// `None` for unspecified or unknown values.
pub fn case_type_from_proto(value: i32) -> Option<CaseType> {
    match pb::CaseType::try_from(value).ok()? {
        pb::CaseType::Return => Some(CaseType::Return),
        pb::CaseType::Claim => Some(CaseType::Claim),
        pb::CaseType::Maintenance => Some(CaseType::Maintenance),
        pb::CaseType::Unspecified => None,
    }
}
