//! Territory scope: which incidents a user may see.

use qalqan_domain::account::Role;
use qalqan_domain::{DistrictId, TerritoryId};
use qalqan_store::User;

/// How much of a territory a user may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// Nothing; the territory is treated as absent.
    None,
    /// Only these districts.
    Districts(Vec<DistrictId>),
    /// The whole territory.
    Whole,
}

/// Administrators see every territory; others what their scopes grant. A
/// whole-territory grant wins over district grants of the same territory.
///
/// ```
/// use qalqan_server::scope::{territory_access, Access};
/// # use qalqan_domain::{account::{Login, Role}, TerritoryId, DistrictId};
/// # use qalqan_store::{User, PasswordState, AccountState};
/// let user = User { id: 1, login: Login::parse("insp").unwrap(), display_name: "I".into(), role: Role::DistrictInspector,
///     agency: None, password_hash: String::new(), password_state: PasswordState::Set, state: AccountState::Active,
///     failed_logins: 0, locked_until: None, scopes: vec![(TerritoryId(1), Some(DistrictId(4)))] };
/// assert_eq!(territory_access(&user, TerritoryId(1)), Access::Districts(vec![DistrictId(4)]));
/// assert_eq!(territory_access(&user, TerritoryId(2)), Access::None);
/// ```
pub fn territory_access(user: &User, territory: TerritoryId) -> Access {
    if user.role == Role::Administrator {
        return Access::Whole;
    }
    let mut districts = Vec::new();
    for (t, d) in &user.scopes {
        if *t == territory {
            match d {
                None => return Access::Whole,
                Some(d) => districts.push(*d),
            }
        }
    }
    if districts.is_empty() { Access::None } else { Access::Districts(districts) }
}

/// Loads a territory the user may see whole (territory-wide aggregates).
pub(crate) async fn whole_territory(
    state: &crate::AppState,
    session: &qalqan_store::Session,
    name: &str,
) -> Result<qalqan_domain::Territory, crate::ApiError> {
    let name = qalqan_domain::TerritoryName::parse(name).map_err(|e| crate::ApiError::BadRequest(e.to_string()))?;
    let territory = state.territory(&name).await?;
    match territory_access(&session.user, territory.id) {
        // Out of scope looks exactly like absent: ids and names are not enumerable.
        Access::None => Err(crate::ApiError::NotFound(format!("territory '{name}' not found"))),
        Access::Districts(_) => Err(crate::ApiError::Forbidden(format!(
            "your access to {name} is limited to some districts; territory-wide figures are not available to you"
        ))),
        Access::Whole => Ok(territory),
    }
}

/// What a territory-wide or district aggregate covers: the territory, and
/// optionally one district with everything nested in it.
pub(crate) struct AggregateArea {
    pub territory: qalqan_domain::Territory,
    /// The chosen district and the ids it covers (itself and its sub-districts).
    pub district: Option<(qalqan_domain::District, Vec<qalqan_domain::DistrictId>)>,
}

impl AggregateArea {
    /// Keeps the records inside the chosen district (all of them without one).
    pub fn keep(&self, records: Vec<qalqan_store::IncidentRecord>) -> Vec<qalqan_store::IncidentRecord> {
        match &self.district {
            None => records,
            Some((_, ids)) => records.into_iter().filter(|r| r.district.is_some_and(|d| ids.contains(&d))).collect(),
        }
    }

    /// The study area: the district's boundary, else the territory's.
    pub fn boundary(&self) -> Option<qalqan_domain::territory::Area> {
        self.district.as_ref().and_then(|(d, _)| d.boundary.clone()).or_else(|| self.territory.boundary.clone())
    }
}

/// Loads the area of an aggregate: the whole territory (which needs access to
/// all of it), or one `district` of it, which district-scoped users may ask
/// for within their districts. Districts outside the scope look absent.
pub(crate) async fn aggregate_area(
    state: &crate::AppState,
    session: &qalqan_store::Session,
    name: &str,
    district: Option<&str>,
) -> Result<AggregateArea, crate::ApiError> {
    let Some(district) = district.map(str::trim).filter(|d| !d.is_empty()) else {
        return Ok(AggregateArea { territory: whole_territory(state, session, name).await?, district: None });
    };
    let name = qalqan_domain::TerritoryName::parse(name).map_err(|e| crate::ApiError::BadRequest(e.to_string()))?;
    let territory = state.territory(&name).await?;
    let absent = || crate::ApiError::NotFound(format!("district '{district}' not found"));
    let chosen = match territory_access(&session.user, territory.id) {
        Access::None => return Err(crate::ApiError::NotFound(format!("territory '{name}' not found"))),
        Access::Whole => territory.district_by_name(district).ok_or_else(absent)?.clone(),
        Access::Districts(ids) => {
            let d = territory.district_by_name(district).ok_or_else(absent)?;
            // A user of a district also sees the districts nested in it.
            if !territory.district_and_ancestors(d.id).iter().any(|a| ids.contains(a)) {
                return Err(absent());
            }
            d.clone()
        }
    };
    let covered = territory.district_and_descendants(chosen.id);
    Ok(AggregateArea { territory, district: Some((chosen, covered)) })
}
