//! `nhiscope user`: dashboard accounts (argon2id password hashes) and API tokens (printed once,
//! stored as a SHA-256 digest).

use std::io::{BufRead, IsTerminal};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Subcommand, ValueEnum};
use nhiscope_engine::store::auth::Role;
use nhiscope_engine::Store;

/// A dashboard role.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum RoleArg {
    /// Reads everything.
    Viewer,
    /// Also suppresses and reopens findings.
    Admin,
}

/// `nhiscope user` subcommands.
#[derive(Debug, Subcommand)]
pub enum UserAction {
    /// Create a dashboard account, or set the password and role of an existing one.
    Add {
        name: String,
        #[arg(long, value_enum, default_value_t = RoleArg::Viewer)]
        role: RoleArg,
        /// Read the password from the first line of stdin (otherwise prompt).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Create an API token for an account (for `Authorization: Bearer`); printed once.
    Token {
        name: String,
        #[arg(long, default_value = "api")]
        label: String,
    },
}

fn read_password(from_stdin: bool) -> Result<String> {
    let password = if from_stdin || !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else {
        let first = rpassword::prompt_password("Password: ")?;
        let again = rpassword::prompt_password("Again: ")?;
        if first != again {
            bail!("the passwords differ");
        }
        first
    };
    if password.chars().count() < 12 {
        bail!("a dashboard password has at least 12 characters");
    }
    Ok(password)
}

pub fn run(action: &UserAction, store_path: &Path, now: i64) -> Result<ExitCode> {
    let store =
        Store::open(store_path).with_context(|| format!("store {}", store_path.display()))?;
    match action {
        UserAction::Add {
            name,
            role,
            password_stdin,
        } => {
            let password = read_password(*password_stdin)?;
            let hash = nhiscope_web::secret::hash_password(&password)?;
            let role = match role {
                RoleArg::Viewer => Role::Viewer,
                RoleArg::Admin => Role::Admin,
            };
            store.put_web_user(name, &hash, role, now)?;
            outln!("dashboard user {name} ({}) saved", role.as_str());
        }
        UserAction::Token { name, label } => {
            let token = nhiscope_web::secret::new_token()?;
            store.create_api_token(&nhiscope_web::secret::digest(&token), name, label, now)?;
            outln!("{token}");
            eprintln!("API token for {name} ({label}); shown once, store it now.");
        }
    }
    Ok(ExitCode::SUCCESS)
}
