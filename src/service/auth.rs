//! Tokens, and who sent a request: `Authorization: Bearer TOKEN`, or HTTP Basic
//! with the token as the password (any user name), so desktop clients that only
//! know user and password (QGIS, spreadsheets, browsers) can log in. Both give
//! the same [`Caller`]; what a caller may do is decided in [`super::access`].
//!
//! Tokens come from a file (`--tokens FILE`) and/or the `WANGGE_TOKENS`
//! environment variable; see [`Tokens::parse_file_text`] and
//! [`Tokens::parse_env`] for the syntax. With no tokens configured every caller
//! is a planner, and the server refuses to listen on anything but loopback.

use std::fmt;
use std::future::{ready, Ready};
use std::path::Path;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use base64::Engine as _;

pub use super::access::{Caller, Role, Scope};
use super::error::ServiceError;
use super::AppState;

/// The configured tokens. `Debug` shows how many, never the tokens.
#[derive(Clone, Default)]
pub struct Tokens {
    entries: Vec<(Box<[u8]>, Caller)>,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tokens({} configured)", self.entries.len())
    }
}

impl Tokens {
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds (or replaces) a token that reaches every dataset.
    pub fn insert(&mut self, token: &str, role: Role) {
        self.insert_caller(
            token,
            Caller {
                role,
                scope: Scope::All,
            },
        );
    }

    /// Adds (or replaces) a token that reaches only `datasets`.
    pub fn insert_scoped(&mut self, token: &str, role: Role, datasets: &[&str]) {
        let scope = Scope::Datasets(datasets.iter().map(|d| d.to_string()).collect());
        self.insert_caller(token, Caller { role, scope });
    }

    fn insert_caller(&mut self, token: &str, caller: Caller) {
        let token = token.as_bytes();
        match self.entries.iter_mut().find(|(t, _)| &t[..] == token) {
            Some(e) => e.1 = caller,
            None => self.entries.push((token.into(), caller)),
        }
    }

    fn extend(&mut self, other: Tokens) {
        for (t, c) in other.entries {
            match self.entries.iter_mut().find(|(s, _)| *s == t) {
                Some(e) => e.1 = c,
                None => self.entries.push((t, c)),
            }
        }
    }

    /// Parses a tokens file: one `TOKEN ROLE [DATASETS]` per line, fields
    /// separated by white space (or `:`), roles `planner` and `viewer`, and
    /// DATASETS an optional list of dataset names separated by `,` or `+`
    /// (without it, or with `*`, the token reaches every dataset). Blank lines
    /// and `#` comments (at the start of a line or after white space) are
    /// ignored.
    pub fn parse_file_text(text: &str) -> Result<Tokens, String> {
        let mut t = Tokens::default();
        for (n, line) in text.lines().enumerate() {
            let line = strip_comment(line).trim();
            if line.is_empty() {
                continue;
            }
            let (token, caller) = parse_entry(line, "TOKEN ROLE [DATASET,DATASET…]")
                .map_err(|e| format!("line {}: {e}", n + 1))?;
            t.insert_caller(token, caller);
        }
        Ok(t)
    }

    /// Parses `WANGGE_TOKENS`: `TOKEN:ROLE[:DATASET+DATASET…]` entries
    /// separated by `,` (datasets are joined by `+` here, since `,` separates
    /// the tokens).
    pub fn parse_env(text: &str) -> Result<Tokens, String> {
        let mut t = Tokens::default();
        for (n, entry) in text.split(',').enumerate() {
            let entry = entry.trim();
            if entry.is_empty() {
                continue;
            }
            let (token, caller) = parse_entry(entry, "TOKEN:ROLE[:DATASET+DATASET…]")
                .map_err(|e| format!("WANGGE_TOKENS entry {}: {e}", n + 1))?;
            t.insert_caller(token, caller);
        }
        Ok(t)
    }

    /// Tokens from a file and the environment value, merged (the environment
    /// wins for a token in both). A file that others may read or write, or
    /// that its group may write, is refused: whoever can read it can act as
    /// any of its tokens.
    pub fn load(file: Option<&Path>, env: Option<&str>) -> Result<Tokens, String> {
        let mut t = Tokens::default();
        if let Some(f) = file {
            check_private(f)?;
            let text = std::fs::read_to_string(f)
                .map_err(|e| format!("cannot read tokens file {}: {e}", f.display()))?;
            t.extend(
                Tokens::parse_file_text(&text)
                    .map_err(|e| format!("tokens file {}: {e}", f.display()))?,
            );
        }
        if let Some(e) = env {
            t.extend(Tokens::parse_env(e)?);
        }
        Ok(t)
    }

    /// The caller a presented token stands for. Every configured token is
    /// compared, each without stopping at the first differing byte, so the
    /// time taken does not tell how much of a guess was right.
    fn caller(&self, presented: &[u8]) -> Option<Caller> {
        let mut found = None;
        for (token, caller) in &self.entries {
            if constant_time_eq(token, presented) {
                found = Some(caller);
            }
        }
        found.cloned()
    }
}

/// Drops a `#` comment that starts the line or follows white space (a `#`
/// inside a token is kept).
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()) {
            return &line[..i];
        }
    }
    line
}

/// One `TOKEN ROLE [DATASETS]` entry (fields split by white space or `:`).
fn parse_entry<'a>(entry: &'a str, syntax: &str) -> Result<(&'a str, Caller), String> {
    let fields: Vec<&str> = entry
        .split(|c: char| c.is_whitespace() || c == ':')
        .filter(|f| !f.is_empty())
        .collect();
    let (token, role, datasets) = match fields[..] {
        [t, r] => (t, r, None),
        [t, r, d] => (t, r, Some(d)),
        _ => {
            return Err(format!(
                "expected `{syntax}`, found {} field(s)",
                fields.len()
            ))
        }
    };
    let role: Role = role.parse()?;
    let scope = match datasets {
        None | Some("*") => Scope::All,
        Some(list) => {
            let names: Vec<String> = list
                .split([',', '+'])
                .map(|d| {
                    super::datasets::check_dataset_name(d)
                        .map(|_| d.to_string())
                        .map_err(|e| e.to_string())
                })
                .collect::<Result<_, _>>()?;
            Scope::Datasets(Arc::from(names))
        }
    };
    Ok((token, Caller { role, scope }))
}

#[cfg(unix)]
fn check_private(f: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(f)
        .map_err(|e| format!("cannot read tokens file {}: {e}", f.display()))?;
    let mode = meta.permissions().mode();
    if mode & 0o027 != 0 {
        return Err(format!(
            "tokens file {} is open to others (mode {:o}): run `chmod 600 {}` (or 640 to let its group read it)",
            f.display(),
            mode & 0o777,
            f.display()
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_: &Path) -> Result<(), String> {
    Ok(())
}

/// Byte equality whose time depends on the lengths only, not on where the
/// first difference is.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// The token of an `Authorization` header: `Bearer TOKEN`, or `Basic` with
/// base64 `USER:TOKEN` (the user name is not checked).
fn presented_token(value: &[u8]) -> Result<Vec<u8>, ServiceError> {
    let unauthorized = |why: &str| ServiceError::Unauthorized(why.to_string());
    let value =
        std::str::from_utf8(value).map_err(|_| unauthorized("malformed Authorization header"))?;
    let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return Ok(rest.as_bytes().to_vec());
    }
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(unauthorized(
            "use Authorization: Bearer TOKEN, or Basic authentication with the token as the password",
        ));
    }
    let engine = &base64::engine::general_purpose::STANDARD;
    let decoded = engine
        .decode(rest)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(rest))
        .map_err(|_| unauthorized("Basic credentials are not base64"))?;
    let colon = decoded.iter().position(|&b| b == b':').ok_or_else(|| {
        unauthorized("Basic credentials must be USER:PASSWORD, with the token as the password")
    })?;
    Ok(decoded[colon + 1..].to_vec())
}

fn authenticate(req: &HttpRequest) -> Result<Caller, ServiceError> {
    let tokens = &req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ServiceError::Internal("application state missing".into()))?
        .tokens;
    if tokens.is_empty() {
        return Ok(Caller::local());
    }
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Err(ServiceError::Unauthorized(
            "send Authorization: Bearer TOKEN, or Basic authentication with the token as the password".into(),
        ));
    };
    let token = presented_token(value.as_bytes())?;
    tokens
        .caller(&token)
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

    fn role(t: &Tokens, token: &str) -> Option<Role> {
        t.caller(token.as_bytes()).map(|c| c.role)
    }

    #[test]
    fn token_files_and_env_parse() {
        let t = Tokens::parse_file_text(
            "# comment\nabc planner\n\nxyz   viewer\nq#1 viewer # a comment\n",
        )
        .unwrap();
        assert_eq!(role(&t, "abc"), Some(Role::Planner));
        assert_eq!(role(&t, "xyz"), Some(Role::Viewer));
        assert_eq!(role(&t, "q#1"), Some(Role::Viewer));
        assert_eq!(t.caller(b"abc").unwrap().scope, Scope::All);
        let e = Tokens::parse_env("a:planner,b:viewer").unwrap();
        assert_eq!(role(&e, "b"), Some(Role::Viewer));
        assert!(Tokens::parse_file_text("abc admin").is_err());
        assert!(Tokens::parse_file_text("abc").is_err());
    }

    #[test]
    fn tokens_scoped_to_datasets() {
        let t = Tokens::parse_file_text(
            "t1 viewer langya,nanqiao\nt2 planner *\nt3:planner:langya+x-1\n",
        )
        .unwrap();
        let c = t.caller(b"t1").unwrap();
        assert!(c.sees_dataset("langya") && c.sees_dataset("nanqiao") && !c.sees_dataset("x-1"));
        assert_eq!(t.caller(b"t2").unwrap().scope, Scope::All);
        let c = t.caller(b"t3").unwrap();
        assert!(c.sees_dataset("x-1") && !c.sees_dataset("nanqiao"));
        let e = Tokens::parse_env("a:viewer:langya+nanqiao,b:planner").unwrap();
        assert!(e.caller(b"a").unwrap().sees_dataset("nanqiao"));
        // A comma inside an environment entry starts the next entry.
        let err = Tokens::parse_env("a:viewer:langya,nanqiao").unwrap_err();
        assert!(err.contains("entry 2"), "{err}");
        let err = Tokens::parse_file_text("t viewer lang.ya").unwrap_err();
        assert!(
            err.contains("line 1") && err.contains("invalid dataset name"),
            "{err}"
        );
        let err = Tokens::parse_file_text("t viewer a b").unwrap_err();
        assert!(err.contains("4 field"), "{err}");
    }

    #[test]
    fn basic_and_bearer_present_the_same_token() {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        assert_eq!(presented_token(b"Bearer s3cr:et").unwrap(), b"s3cr:et");
        assert_eq!(presented_token(b"bearer  tok ").unwrap(), b"tok");
        let basic = format!("Basic {}", b64("qgis:s3cr:et"));
        assert_eq!(presented_token(basic.as_bytes()).unwrap(), b"s3cr:et");
        let basic = format!("basic {}", b64(":tok"));
        assert_eq!(presented_token(basic.as_bytes()).unwrap(), b"tok");
        assert!(presented_token(b"Basic abc").is_err());
        let no_colon = format!("Basic {}", b64("tok"));
        assert!(presented_token(no_colon.as_bytes()).is_err());
        assert!(presented_token(b"Digest x").is_err());
        assert!(presented_token(b"Bearer\xff").is_err());
    }

    #[test]
    fn lookup_compares_whole_tokens() {
        let mut t = Tokens::default();
        t.insert("abcdef", Role::Planner);
        t.insert_scoped("abcdeg", Role::Viewer, &["langya"]);
        assert_eq!(role(&t, "abcdef"), Some(Role::Planner));
        assert_eq!(role(&t, "abcdeg"), Some(Role::Viewer));
        assert_eq!(role(&t, "abcde"), None);
        assert_eq!(role(&t, "abcdefg"), None);
        assert_eq!(role(&t, ""), None);
        t.insert("abcdef", Role::Viewer);
        assert_eq!(role(&t, "abcdef"), Some(Role::Viewer));
        assert!(!format!("{t:?}").contains("abc"));
    }

    #[cfg(unix)]
    #[test]
    fn a_tokens_file_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("wangge-tokens-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("tokens");
        std::fs::write(&f, "abc planner\n").unwrap();
        for (mode, ok) in [
            (0o644, false),
            (0o604, false),
            (0o620, false),
            (0o600, true),
            (0o640, true),
        ] {
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(mode)).unwrap();
            let r = Tokens::load(Some(&f), None);
            assert_eq!(r.is_ok(), ok, "mode {mode:o}: {r:?}");
            if let Err(e) = r {
                assert!(e.contains("chmod 600"), "{e}");
            }
        }
        let t = Tokens::load(Some(&f), Some("abc:viewer")).unwrap();
        assert_eq!(role(&t, "abc"), Some(Role::Viewer));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn loopback_detection() {
        assert!(is_loopback("127.0.0.1:8080"));
        assert!(is_loopback("[::1]:8080"));
        assert!(!is_loopback("0.0.0.0:8080"));
    }
}
