//! Every service this binary can run: adding a service is one entry here.

use aftercare_platform::registry::ServiceDef;

pub const SERVICES: &[ServiceDef] = &[
    aftercare_orders::SERVICE,
    aftercare_returns::SERVICE,
    aftercare_loyalty::SERVICE,
    aftercare_loyalty::STORE_CREDIT,
    aftercare_warranty::SERVICE,
    aftercare_maintenance::SERVICE,
    aftercare_feedback::SERVICE,
    aftercare_insight::SERVICE,
    aftercare_events::SERVICE,
    aftercare_events::WEBHOOKS,
];

/// The services `names` selects (`all` selects every one), in registry
/// order, or the first unknown name.
pub fn select(names: &[String]) -> Result<Vec<&'static ServiceDef>, String> {
    for name in names {
        if name != "all" && !SERVICES.iter().any(|s| s.name == name) {
            return Err(format!("unknown service {name:?} (one of: all, {})", names_list()));
        }
    }
    let all = names.iter().any(|n| n == "all");
    Ok(SERVICES
        .iter()
        .filter(|s| all || names.iter().any(|n| n == s.name))
        .collect())
}

pub fn names_list() -> String {
    SERVICES.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use prost::Message;
    use prost_types::FileDescriptorSet;

    use super::*;

    /// Every RPC of every registered contract has exactly one row in its
    /// service's role table, and every row names a real RPC: a method the
    /// table forgot would be unreachable, a stale row a silent mistake.
    #[test]
    fn every_method_of_every_service_has_roles() {
        let fds = FileDescriptorSet::decode(aftercare_proto::FILE_DESCRIPTOR_SET).unwrap();
        for def in SERVICES {
            let (package, service) = def.grpc_service.rsplit_once('.').unwrap();
            let descriptor = fds
                .file
                .iter()
                .filter(|f| f.package() == package)
                .flat_map(|f| &f.service)
                .find(|s| s.name() == service)
                .unwrap_or_else(|| panic!("{} is not in the contracts", def.grpc_service));
            let methods: BTreeSet<&str> = descriptor.method.iter().map(|m| m.name()).collect();
            let table: Vec<&str> = def.roles.iter().map(|(m, _)| *m).collect();
            let rows: BTreeSet<&str> = table.iter().copied().collect();
            assert_eq!(rows.len(), table.len(), "{}: a method is listed twice", def.name);
            assert_eq!(rows, methods, "{}: role table and contract differ", def.name);
            for (method, roles) in def.roles {
                assert!(!roles.is_empty(), "{}/{method}: nobody may call it", def.name);
            }
        }
    }

    #[test]
    fn names_select_services() {
        let names = |s: &[&str]| s.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        assert_eq!(select(&names(&["all"])).unwrap().len(), SERVICES.len());
        let returns = select(&names(&["returns"])).unwrap();
        assert_eq!(returns.iter().map(|s| s.name).collect::<Vec<_>>(), ["returns"]);
        assert!(select(&names(&["billing"])).unwrap_err().contains("billing"));
        let unique: BTreeSet<&str> = SERVICES.iter().map(|s| s.name).collect();
        assert_eq!(unique.len(), SERVICES.len(), "service names are unique");
    }
}
