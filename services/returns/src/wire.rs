//! The wire names of returns' enums (`aftercare.returns.v1`), shared by the
//! gRPC service and the events.

use aftercare_proto::returns as pb;

use crate::domain::*;

pub fn resolution_from_proto(v: i32) -> Option<Resolution> {
    match pb::Resolution::try_from(v).ok()? {
        pb::Resolution::Unspecified => None,
        pb::Resolution::Refund => Some(Resolution::Refund),
        pb::Resolution::StoreCredit => Some(Resolution::StoreCredit),
        pb::Resolution::Exchange => Some(Resolution::Exchange),
    }
}

pub fn resolution_to_proto(r: Resolution) -> i32 {
    (match r {
        Resolution::Refund => pb::Resolution::Refund,
        Resolution::StoreCredit => pb::Resolution::StoreCredit,
        Resolution::Exchange => pb::Resolution::Exchange,
    }) as i32
}

const REASONS: [(pb::ReturnReason, Reason); 8] = [
    (pb::ReturnReason::ChangedMind, Reason::ChangedMind),
    (pb::ReturnReason::WrongSize, Reason::WrongSize),
    (pb::ReturnReason::Defective, Reason::Defective),
    (pb::ReturnReason::DamagedInTransit, Reason::DamagedInTransit),
    (pb::ReturnReason::WrongItem, Reason::WrongItem),
    (pb::ReturnReason::NotAsDescribed, Reason::NotAsDescribed),
    (pb::ReturnReason::ArrivedLate, Reason::ArrivedLate),
    (pb::ReturnReason::Other, Reason::Other),
];

pub fn reason_from_proto(v: i32) -> Option<Reason> {
    REASONS.iter().find(|(p, _)| *p as i32 == v).map(|(_, r)| *r)
}

pub fn reason_to_proto(r: Reason) -> i32 {
    REASONS
        .iter()
        .find(|(_, d)| *d == r)
        .map(|(p, _)| *p as i32)
        .unwrap_or_default()
}

const STATUSES: [(pb::ReturnStatus, Status); 7] = [
    (pb::ReturnStatus::Requested, Status::Requested),
    (pb::ReturnStatus::Approved, Status::Approved),
    (pb::ReturnStatus::Rejected, Status::Rejected),
    (pb::ReturnStatus::InTransit, Status::InTransit),
    (pb::ReturnStatus::Received, Status::Received),
    (pb::ReturnStatus::Completed, Status::Completed),
    (pb::ReturnStatus::Canceled, Status::Canceled),
];

pub fn status_from_proto(v: i32) -> Option<Status> {
    STATUSES.iter().find(|(p, _)| *p as i32 == v).map(|(_, s)| *s)
}

pub fn status_to_proto(s: Status) -> i32 {
    STATUSES
        .iter()
        .find(|(_, d)| *d == s)
        .map(|(p, _)| *p as i32)
        .unwrap_or_default()
}

pub fn grade_from_proto(v: i32) -> Option<Grade> {
    match pb::Grade::try_from(v).ok()? {
        pb::Grade::Unspecified => None,
        pb::Grade::Resellable => Some(Grade::Resellable),
        pb::Grade::Opened => Some(Grade::Opened),
        pb::Grade::Damaged => Some(Grade::Damaged),
        pb::Grade::Missing => Some(Grade::Missing),
        pb::Grade::WrongItem => Some(Grade::WrongItem),
    }
}

pub fn grade_to_proto(g: Grade) -> i32 {
    (match g {
        Grade::Resellable => pb::Grade::Resellable,
        Grade::Opened => pb::Grade::Opened,
        Grade::Damaged => pb::Grade::Damaged,
        Grade::Missing => pb::Grade::Missing,
        Grade::WrongItem => pb::Grade::WrongItem,
    }) as i32
}

pub fn refund_status_to_proto(s: RefundStatus) -> i32 {
    (match s {
        RefundStatus::Pending => pb::RefundStatus::Pending,
        RefundStatus::Succeeded => pb::RefundStatus::Succeeded,
        RefundStatus::Failed => pb::RefundStatus::Failed,
    }) as i32
}

pub fn refund_method_to_proto(m: RefundMethod) -> i32 {
    (match m {
        RefundMethod::OriginalPayment => pb::RefundMethod::OriginalPayment,
        RefundMethod::StoreCredit => pb::RefundMethod::StoreCredit,
    }) as i32
}

pub fn charge_status_to_proto(s: ChargeStatus) -> i32 {
    (match s {
        ChargeStatus::Pending => pb::ChargeStatus::Pending,
        ChargeStatus::Succeeded => pb::ChargeStatus::Succeeded,
        ChargeStatus::Failed => pb::ChargeStatus::Failed,
    }) as i32
}
