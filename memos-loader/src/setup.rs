//! Making sure the user and the cube exist before an import, as the v1 server requires: it
//! rejects memories for an unknown user or a cube the user cannot reach.
//!
//! The `/product` API has nothing to set up: it trusts the `user_id` each request names
//! (there is no route that lists or creates users), and a cube id is a free-form partition
//! that the first add creates (its `create_cube` needs the owner `root` and is not
//! needed). On it these functions check the ids and change nothing
//! ([`Ensured::NotNeeded`]).

use memos_api::v1::types::{self, UserRole};
use memos_api::v1::Client;

use crate::error::{Hint, LoadError};
use crate::server::Server;

/// Where records go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The acting user (must exist; see [`ensure_user`]).
    pub user_id: String,
    /// The cube (the user must reach it; see [`ensure_cube`]).
    pub cube_id: String,
}

/// What [`ensure_user`] or [`ensure_cube`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ensured {
    /// It was already there (nothing changed on the server).
    Existed,
    /// It was created (user) or registered (cube) now.
    Created,
    /// The API has no such thing to create (the `/product` API: users are not checked,
    /// and a cube comes into being with its first memory). Nothing changed.
    NotNeeded,
}

/// Whether `user_id` is an active user of the server.
pub(crate) async fn user_exists(client: &Client, user_id: &str) -> Result<bool, LoadError> {
    let users = client
        .list_users()
        .await
        .map_err(|source| setup_error("listing the users", source, None))?;
    Ok(users.iter().any(|u| u.user_id == user_id && u.is_active))
}

/// Creates the user `user_id` (role `USER`, name = id) unless it exists. Idempotent. On the
/// `/product` API: [`Ensured::NotNeeded`].
pub async fn ensure_user(server: impl Into<Server>, user_id: &str) -> Result<Ensured, LoadError> {
    check_id("user", user_id)?;
    let Server::V1(client) = server.into() else {
        return Ok(Ensured::NotNeeded);
    };
    let client = &client;
    if user_exists(client, user_id).await? {
        return Ok(Ensured::Existed);
    }
    let created = client
        .create_user(types::UserCreate {
            user_id: user_id.to_owned(),
            user_name: Some(user_id.to_owned()),
            role: UserRole::User,
        })
        .await
        .map_err(|source| setup_error(&format!("creating user {user_id:?}"), source, None))?;
    match created.user_id.as_deref() {
        Some(id) if id == user_id => {}
        // The server's duplicate rules: a taken name answers with its owner's id.
        Some(other) => {
            return Err(LoadError::Conflict(format!(
                "cannot create user {user_id:?}: the user name {user_id:?} already belongs to \
                 user {other:?} (the server names new users after their id); pick another user id"
            )))
        }
        None => {
            return Err(LoadError::Conflict(format!(
                "cannot create user {user_id:?}: the server says the id exists with another \
                 name, yet it is not among the active users; check the server's list of users"
            )))
        }
    }
    if !user_exists(client, user_id).await? {
        return Err(LoadError::Conflict(format!(
            "the server answered that user {user_id:?} was created, but it is not listed"
        )));
    }
    Ok(Ensured::Created)
}

/// Fails unless `user_id` exists. On the `/product` API only the id is checked.
pub async fn verify_user(server: impl Into<Server>, user_id: &str) -> Result<(), LoadError> {
    check_id("user", user_id)?;
    let Server::V1(client) = server.into() else {
        return Ok(());
    };
    let client = &client;
    if user_exists(client, user_id).await? {
        return Ok(());
    }
    Err(LoadError::UnknownUser {
        user_id: user_id.to_owned(),
    })
}

/// Whether `user_id` can read `cube_id`; `Ok(Err(..))` holds the server's refusal.
async fn cube_reachable(
    client: &Client,
    user_id: &str,
    cube_id: &str,
) -> Result<Result<(), memos_api::Error>, LoadError> {
    match client.list_memories(Some(cube_id), Some(user_id)).await {
        Ok(_) => Ok(Ok(())),
        // No answer at all: not a statement about the cube.
        Err(err) if err.status().is_none() => Err(LoadError::from(err)),
        Err(err) => Ok(Err(err)),
    }
}

/// Registers the cube `cube_id` for `user_id` from `server_dir` (a folder on the *server*
/// holding the cube's `config.json`) unless the user can already reach it. Idempotent.
///
/// Registering a cube id that exists for another user grants `user_id` access to it: that
/// is the reference server's only working way to share a cube.
///
/// On the `/product` API: [`Ensured::NotNeeded`] (`server_dir` is not used).
pub async fn ensure_cube(
    server: impl Into<Server>,
    user_id: &str,
    cube_id: &str,
    server_dir: &str,
) -> Result<Ensured, LoadError> {
    check_id("cube", cube_id)?;
    let Server::V1(client) = server.into() else {
        return Ok(Ensured::NotNeeded);
    };
    let client = &client;
    if cube_reachable(client, user_id, cube_id).await?.is_ok() {
        return Ok(Ensured::Existed);
    }
    client
        .register_cube(types::MemCubeRegister {
            mem_cube_id: Some(cube_id.to_owned()),
            mem_cube_name_or_path: server_dir.to_owned(),
            user_id: Some(user_id.to_owned()),
        })
        .await
        .map_err(|source| {
            setup_error(
                &format!("registering cube {cube_id:?} for user {user_id:?} from {server_dir:?}"),
                source,
                Some(Hint::Text(format!(
                    "{server_dir:?} must be a folder on the server (not this machine) that \
                     holds the cube's config.json, and the user must exist"
                ))),
            )
        })?;
    match cube_reachable(client, user_id, cube_id).await? {
        Ok(()) => Ok(Ensured::Created),
        Err(source) => Err(setup_error(
            &format!("cube {cube_id:?} was registered but user {user_id:?} cannot read it"),
            source,
            None,
        )),
    }
}

/// Fails unless `user_id` can reach `cube_id`. On the `/product` API only the id is
/// checked: any cube id can be written to.
pub async fn verify_cube(
    server: impl Into<Server>,
    user_id: &str,
    cube_id: &str,
) -> Result<(), LoadError> {
    check_id("cube", cube_id)?;
    let Server::V1(client) = server.into() else {
        return Ok(());
    };
    let client = &client;
    match cube_reachable(client, user_id, cube_id).await? {
        Ok(()) => Ok(()),
        Err(source) => Err(setup_error(
            &format!("user {user_id:?} cannot reach cube {cube_id:?}"),
            source,
            Some(Hint::RegisterCube {
                user_id: user_id.to_owned(),
                cube_id: cube_id.to_owned(),
            }),
        )),
    }
}

pub(crate) fn setup_error(what: &str, source: memos_api::Error, hint: Option<Hint>) -> LoadError {
    LoadError::Setup {
        what: what.to_owned(),
        source: Box::new(source),
        hint,
    }
}

/// Ids end up in URL paths, where the server cannot route a `/`.
fn check_id(what: &str, id: &str) -> Result<(), LoadError> {
    if id.trim().is_empty() {
        return Err(LoadError::Options(format!("the {what} id is empty")));
    }
    if id.contains('/') {
        return Err(LoadError::Options(format!(
            "the {what} id {id:?} contains '/', which the server cannot address in a URL"
        )));
    }
    Ok(())
}
