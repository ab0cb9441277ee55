//! Operator commands on the gateway's database (no running server needed): API keys, the
//! agent list, receipt-chain verification. They act as the `cli` operator of the admin
//! account, and their changes are audited like the API's.

use std::sync::Arc;

use anyhow::Context;
use tg_access::{ApiKey, Scope};
use tg_service::Gateway;

use crate::Settings;

fn service(e: tg_service::ServiceError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

async fn open(settings: &Settings) -> anyhow::Result<Arc<Gateway>> {
    crate::open(settings)
        .await
        .with_context(|| format!("cannot open {}", settings.database_label()))
}

pub async fn keys_create(
    settings: &Settings,
    account: Option<&str>,
    scope: Scope,
) -> anyhow::Result<()> {
    let g = open(settings).await?;
    let operator = g.operator();
    let actor = g.actor(Some(&operator), None);
    let account = match account {
        Some(a) => tg_core::AccountId::parse(a)?,
        None => g.admin_account().id.clone(),
    };
    let new = g
        .create_key(&operator, &actor, &account, scope)
        .await
        .map_err(service)?;
    eprintln!(
        "created key {} ({} scope) for account {}; it is shown this once:",
        new.key.id,
        new.key.scope.as_str(),
        new.key.account_id
    );
    println!("{}", new.plaintext);
    Ok(())
}

fn key_line(k: &ApiKey) -> String {
    format!(
        "{:<10} {:<14} {:<30} {:<6} {:<28} {}",
        k.id,
        k.prefix,
        k.account_id.as_str(),
        k.scope.as_str(),
        k.created_at.to_string(),
        k.revoked_at.map_or("-".into(), |t| t.to_string()),
    )
}

pub async fn keys_list(settings: &Settings, account: Option<&str>) -> anyhow::Result<()> {
    let g = open(settings).await?;
    let operator = g.operator();
    let accounts: Vec<tg_core::AccountId> = match account {
        Some(a) => vec![tg_core::AccountId::parse(a)?],
        None => g
            .list_accounts(&operator)
            .await
            .map_err(service)?
            .into_iter()
            .map(|a| a.id)
            .collect(),
    };
    println!(
        "{:<10} {:<14} {:<30} {:<6} {:<28} REVOKED",
        "ID", "PREFIX", "ACCOUNT", "SCOPE", "CREATED"
    );
    for a in accounts {
        for k in g.list_keys(&operator, &a).await.map_err(service)? {
            println!("{}", key_line(&k));
        }
    }
    Ok(())
}

pub async fn keys_revoke(settings: &Settings, key_id: &str) -> anyhow::Result<()> {
    let g = open(settings).await?;
    let operator = g.operator();
    let actor = g.actor(Some(&operator), None);
    g.revoke_key(&operator, &actor, key_id)
        .await
        .map_err(service)?;
    println!("revoked key {key_id}");
    Ok(())
}

fn print_signing_keys(keys: &[tg_service::SigningKeyView]) {
    println!(
        "{:<28} {:<6} {:<28} {:<28} CURRENT",
        "KID", "ALG", "CREATED", "SIGNS FROM"
    );
    for k in keys {
        println!(
            "{:<28} {:<6} {:<28} {:<28} {}",
            k.kid,
            k.alg,
            k.created_at.to_string(),
            k.signs_from.to_string(),
            if k.current { "yes" } else { "-" }
        );
    }
}

pub async fn signing_keys_list(settings: &Settings) -> anyhow::Result<()> {
    let g = open(settings).await?;
    let keys = g.signing_keys(&g.operator()).await.map_err(service)?;
    print_signing_keys(&keys);
    Ok(())
}

pub async fn signing_keys_rotate(settings: &Settings) -> anyhow::Result<()> {
    let g = open(settings).await?;
    let operator = g.operator();
    let actor = g.actor(Some(&operator), None);
    let keys = g
        .rotate_signing_key(&operator, &actor)
        .await
        .map_err(service)?;
    if let Some(new) = keys.last() {
        eprintln!(
            "added signing key {}: running servers publish it within {} s and sign with it from {}",
            new.kid,
            tg_service::SIGNING_KEY_RELOAD_SECS,
            new.signs_from
        );
    }
    print_signing_keys(&keys);
    Ok(())
}

pub async fn signing_keys_retire(settings: &Settings, kid: &str) -> anyhow::Result<()> {
    let g = open(settings).await?;
    let operator = g.operator();
    let actor = g.actor(Some(&operator), None);
    let keys = g
        .retire_signing_key(&operator, &actor, kid)
        .await
        .map_err(service)?;
    eprintln!("retired signing key {kid}: tokens it signed no longer verify");
    print_signing_keys(&keys);
    Ok(())
}

pub async fn agents_list(
    settings: &Settings,
    account: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    const PAGE: u32 = 500;
    let g = open(settings).await?;
    let operator = g.operator();
    if !json {
        println!(
            "{:<28} {:<30} {:<10} {:>4} {:>6}  NAME",
            "ID", "ACCOUNT", "STATUS", "TIER", "SCORE"
        );
    }
    let mut offset = 0;
    loop {
        let page = g
            .list_agents(&operator, account, offset, PAGE)
            .await
            .map_err(service)?;
        for v in &page {
            let a = &v.agent;
            if json {
                let line = serde_json::json!({
                    "id": a.id, "name": a.name, "account_id": a.account_id,
                    "status": a.status.as_str(), "trust_tier": v.breakdown.tier,
                    "trust_score": v.breakdown.composite, "created_at": a.created_at,
                });
                println!("{line}");
            } else {
                println!(
                    "{:<28} {:<30} {:<10} {:>4} {:>6.3}  {}",
                    a.id.as_str(),
                    a.account_id.as_str(),
                    a.status.as_str(),
                    v.breakdown.tier,
                    v.breakdown.composite,
                    a.name
                );
            }
        }
        if page.len() < PAGE as usize {
            return Ok(());
        }
        offset += PAGE;
    }
}

pub async fn verify_chain(settings: &Settings, agent: &str) -> anyhow::Result<()> {
    let agent = tg_core::AgentId::parse(agent)?;
    let g = open(settings).await?;
    eprintln!("verifying the receipt chain of {agent} (links, signatures, recorded head)…");
    let report = g
        .verify_chain(&g.operator(), &agent)
        .await
        .map_err(service)?;
    if report.valid {
        println!("valid: {} receipts, intact", report.length);
        Ok(())
    } else {
        println!(
            "BROKEN at seq {}: {}",
            report.first_broken_seq.unwrap_or_default(),
            report.reason.as_deref().unwrap_or("unknown")
        );
        anyhow::bail!("the receipt chain of {agent} is broken")
    }
}
