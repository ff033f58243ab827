//! Bearer tokens and the two roles.
//!
//! Tokens come from a file (`--tokens FILE`: one `TOKEN ROLE` pair per line, `#`
//! comments) and/or the `WANGGE_TOKENS` environment variable
//! (`token1:planner,token2:viewer`). With no tokens configured every caller is a
//! planner, and the server refuses to listen on anything but loopback.
//!
//! `planner` may do everything. `viewer` may read grids, coverage aggregates,
//! gaps, proposals and the other non-personal layers, and jobs; never the
//! household layer or per-household results, and never write.

use std::collections::HashMap;
use std::future::{ready, Ready};
use std::path::Path;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};

use super::error::ServiceError;
use super::AppState;

/// What a caller may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Planner,
    Viewer,
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "planner" => Ok(Role::Planner),
            "viewer" => Ok(Role::Viewer),
            other => Err(format!(
                "unknown role {other:?} (expected planner or viewer)"
            )),
        }
    }
}

/// Layers holding personal data: household locations and per-household results.
pub const PRIVATE_LAYERS: [&str; 2] = ["households", "coverage_households"];

/// True when `layer` holds household-level data.
pub fn is_private(layer: &str) -> bool {
    PRIVATE_LAYERS.contains(&layer)
}

/// The configured tokens.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    map: HashMap<String, Role>,
}

impl Tokens {
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn insert(&mut self, token: &str, role: Role) {
        self.map.insert(token.to_string(), role);
    }

    /// Parses `TOKEN ROLE` lines (or `TOKEN:ROLE`), `#` comments and blank lines.
    pub fn parse_file_text(text: &str) -> Result<Tokens, String> {
        let mut t = Tokens::default();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut parts = line.split(|c: char| c.is_whitespace() || c == ':');
            let (Some(tok), Some(role)) = (parts.next(), parts.find(|p| !p.is_empty())) else {
                return Err(format!("line {}: expected `TOKEN ROLE`", n + 1));
            };
            t.insert(
                tok,
                role.parse().map_err(|e| format!("line {}: {e}", n + 1))?,
            );
        }
        Ok(t)
    }

    /// Parses `token:role,token:role`.
    pub fn parse_env(text: &str) -> Result<Tokens, String> {
        Tokens::parse_file_text(&text.replace(',', "\n"))
    }

    /// Tokens from a file and the environment value, merged.
    pub fn load(file: Option<&Path>, env: Option<&str>) -> Result<Tokens, String> {
        let mut t = Tokens::default();
        if let Some(f) = file {
            let text = std::fs::read_to_string(f)
                .map_err(|e| format!("cannot read tokens file {}: {e}", f.display()))?;
            t.map.extend(Tokens::parse_file_text(&text)?.map);
        }
        if let Some(e) = env {
            t.map.extend(Tokens::parse_env(e)?.map);
        }
        Ok(t)
    }

    fn role(&self, token: &str) -> Option<Role> {
        self.map.get(token).copied()
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub role: Role,
}

impl Caller {
    pub fn require_planner(&self) -> Result<(), ServiceError> {
        match self.role {
            Role::Planner => Ok(()),
            Role::Viewer => Err(ServiceError::Forbidden(
                "this needs the planner role; viewers can only read".into(),
            )),
        }
    }

    /// May this caller read layer `layer`?
    pub fn can_read(&self, layer: &str) -> bool {
        self.role == Role::Planner || !is_private(layer)
    }

    pub fn require_read(&self, layer: &str) -> Result<(), ServiceError> {
        if self.can_read(layer) {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(format!(
                "the {layer} layer holds household-level data: planners only"
            )))
        }
    }
}

fn authenticate(req: &HttpRequest) -> Result<Caller, ServiceError> {
    let tokens = &req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ServiceError::Internal("application state missing".into()))?
        .tokens;
    if tokens.is_empty() {
        return Ok(Caller {
            role: Role::Planner,
        });
    }
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Err(ServiceError::Unauthorized(
            "send Authorization: Bearer <token>".into(),
        ));
    };
    let value = value.to_str().unwrap_or("");
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .ok_or_else(|| ServiceError::Unauthorized("expected a Bearer token".into()))?;
    tokens
        .role(token)
        .map(|role| Caller { role })
        .ok_or_else(|| ServiceError::Unauthorized("unknown token".into()))
}

impl FromRequest for Caller {
    type Error = ServiceError;
    type Future = Ready<Result<Caller, ServiceError>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req))
    }
}

/// True when `listen` (host:port) names only loopback addresses.
pub fn is_loopback(listen: &str) -> bool {
    use std::net::ToSocketAddrs;
    match listen.to_socket_addrs() {
        Ok(addrs) => {
            let addrs: Vec<_> = addrs.collect();
            !addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback())
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_files_and_env_parse() {
        let t = Tokens::parse_file_text("# comment\nabc planner\n\nxyz   viewer\n").unwrap();
        assert_eq!(t.role("abc"), Some(Role::Planner));
        assert_eq!(t.role("xyz"), Some(Role::Viewer));
        let e = Tokens::parse_env("a:planner,b:viewer").unwrap();
        assert_eq!(e.role("b"), Some(Role::Viewer));
        assert!(Tokens::parse_file_text("abc admin").is_err());
        assert!(Tokens::parse_file_text("abc").is_err());
    }

    #[test]
    fn loopback_detection() {
        assert!(is_loopback("127.0.0.1:8080"));
        assert!(is_loopback("[::1]:8080"));
        assert!(!is_loopback("0.0.0.0:8080"));
    }
}
