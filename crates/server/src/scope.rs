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
    let territory = state.store.territory(&name).await?;
    match territory_access(&session.user, territory.id) {
        // Out of scope looks exactly like absent: ids and names are not enumerable.
        Access::None => Err(crate::ApiError::NotFound(format!("territory '{name}' not found"))),
        Access::Districts(_) => Err(crate::ApiError::Forbidden(format!(
            "your access to {name} is limited to some districts; territory-wide figures are not available to you"
        ))),
        Access::Whole => Ok(territory),
    }
}
