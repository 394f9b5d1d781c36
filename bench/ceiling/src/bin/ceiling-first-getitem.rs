//! `ceiling-first-getitem TABLE ID`: the least the first lookup of a fresh function can cost. Builds
//! an SDK client with the service's own settings and HTTPS client (endpoint, region, credentials and
//! `SSL_CERT_FILE` from the standard environment variables), pauses 50 ms (a fresh CPU-quota period
//! when it runs in a CPU cgroup), then times its first `GetItem(ID)` on `TABLE`: connection, TLS
//! handshake, certificate checks, signing and the answer. Prints one JSON line:
//! `{"first_getitem_us":N,"first_getitem_cpu_us":N}` (wall time, and the process's CPU time, every
//! thread); fails unless the item is found.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use app_core::aws::sdk_config_loader;
use app_core::store::dynamodb::KEY_ATTRIBUTE;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use rustix::time::{ClockId, clock_gettime};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    const USAGE: &str = "usage: ceiling-first-getitem TABLE ID";
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [table, id] = args.as_slice() else {
        bail!(USAGE);
    };
    let config = sdk_config_loader(Duration::from_secs(5), k8s_server::transport::http_client())
        .load()
        .await;
    let client = Client::new(&config);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let sent = Instant::now();
    let cpu_before = process_cpu();
    let answer = client
        .get_item()
        .table_name(table)
        .key(KEY_ATTRIBUTE, AttributeValue::S(id.clone()))
        .send()
        .await
        .context("the first GetItem failed")?;
    let elapsed = sent.elapsed();
    let cpu = process_cpu().saturating_sub(cpu_before);
    ensure!(answer.item.is_some(), "no item {id} in table {table}");
    println!(
        "{}",
        serde_json::json!({
            "first_getitem_us": elapsed.as_micros() as u64,
            "first_getitem_cpu_us": cpu.as_micros() as u64,
        })
    );
    Ok(())
}

/// The CPU time this process has used so far, every thread.
fn process_cpu() -> Duration {
    let now = clock_gettime(ClockId::ProcessCPUTime);
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}
