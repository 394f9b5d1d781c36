//! `ceiling-getitem TABLE ID CONCURRENCY SECONDS`: `CONCURRENCY` tasks each send `GetItem(ID)` to
//! `TABLE` back to back for `SECONDS`, with the service's own SDK settings (so endpoint, region and
//! credentials come from the standard environment variables). Prints one JSON line:
//! `{"requests":N,"errors":N,"seconds":S,"p50_us":N,"p99_us":N}`.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use app_core::aws::sdk_config_loader;
use app_core::store::dynamodb::KEY_ATTRIBUTE;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

#[tokio::main]
async fn main() -> Result<()> {
    const USAGE: &str = "usage: ceiling-getitem TABLE ID CONCURRENCY SECONDS";
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [table, id, concurrency, seconds] = args.as_slice() else {
        bail!(USAGE);
    };
    let concurrency: usize = concurrency.parse().context(USAGE)?;
    let duration = Duration::from_secs_f64(seconds.parse().context(USAGE)?);
    let config = sdk_config_loader(Duration::from_secs(1), k8s_server::transport::http_client())
        .load()
        .await;
    let client = Client::new(&config);
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, table, id) = (client.clone(), table.clone(), id.clone());
            tokio::spawn(async move {
                let (mut latencies, mut errors) = (Vec::new(), 0u64);
                while started.elapsed() < duration {
                    let sent = Instant::now();
                    let answer = client
                        .get_item()
                        .table_name(&table)
                        .key(KEY_ATTRIBUTE, AttributeValue::S(id.clone()))
                        .send()
                        .await;
                    match answer {
                        Ok(output) if output.item.is_some() => {
                            latencies.push(sent.elapsed().as_micros() as u64);
                        }
                        _ => errors += 1,
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let (mut latencies, mut errors) = (Vec::new(), 0);
    for worker in workers {
        let (worker_latencies, worker_errors) = worker.await?;
        latencies.extend(worker_latencies);
        errors += worker_errors;
    }
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let percentile = |p: f64| {
        let rank = ((latencies.len() as f64 * p).ceil() as usize).max(1);
        latencies.get(rank - 1).copied().unwrap_or(0)
    };
    let report = serde_json::json!({
        "requests": latencies.len(),
        "errors": errors,
        "seconds": seconds,
        "p50_us": percentile(0.50),
        "p99_us": percentile(0.99),
    });
    println!("{report}");
    Ok(())
}
