//! `cargo xtask seed`: writes the sample users (or a users file) to a DynamoDB table.
//!
//! The endpoint, region and credentials come from the SDK's standard settings, exactly as the service
//! reads them: `AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000` for DynamoDB Local, nothing for AWS.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, bail};
use app_core::store::dynamodb::{self, sdk_config_loader};
use app_core::store::memory::MemoryStore;
use aws_sdk_dynamodb::Client;
use clap::Args;

/// Options of `cargo xtask seed`.
#[derive(Debug, Args)]
pub struct SeedArgs {
    /// The table to write to
    #[arg(long, default_value = "Users")]
    table: String,
    /// A users JSON file (the embedded store's format) instead of the bundled sample
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,
    /// Create the table (on-demand, key `id` S) if it does not exist: for DynamoDB Local
    #[arg(long)]
    create: bool,
}

/// Runs `cargo xtask seed`.
pub fn run(args: &SeedArgs) -> Result<()> {
    let users = match &args.file {
        Some(path) => MemoryStore::from_file(path)?,
        None => MemoryStore::sample(),
    };
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let config = sdk_config_loader(Duration::from_secs(10)).load().await;
            if config.region().is_none() {
                bail!(
                    "AWS_REGION is not set: name the table's region (any value for DynamoDB Local)"
                );
            }
            let client = Client::new(&config);
            if args.create {
                create_table_if_missing(&client, &args.table).await?;
            }
            let mut written = 0;
            for user in users.users() {
                dynamodb::put_user(&client, &args.table, user).await?;
                written += 1;
            }
            println!("seed: wrote {written} users to table {}", args.table);
            Ok(())
        })
}

async fn create_table_if_missing(client: &Client, table: &str) -> Result<()> {
    if client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .is_err()
    {
        dynamodb::create_table(client, table).await?;
        println!("seed: created table {table}");
    }
    Ok(())
}
