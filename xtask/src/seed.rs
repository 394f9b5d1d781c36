//! `cargo xtask seed`: writes the sample users (or a users file) to a DynamoDB table.
//!
//! The endpoint, region and credentials come from the SDK's standard settings, exactly as the service
//! reads them: `AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:PORT` for a local emulator (`cargo xtask
//! aws-local` prints its settings), nothing for AWS.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, ensure};
use app_core::aws::sdk_config_loader;
use app_core::store::memory::MemoryStore;
use aws_sdk_dynamodb::Client;
use clap::Args;
use testkit::seed::IfMissing;

/// Options of `cargo xtask seed`.
#[derive(Debug, Args)]
pub struct SeedArgs {
    /// The table to write to
    #[arg(long, default_value = "Users")]
    table: String,
    /// A users JSON file (the embedded store's format) instead of the bundled sample
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,
    /// Create the table (on-demand, key `id` S) if it does not exist, and wait until it is active
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
            let config = sdk_config_loader(Duration::from_secs(10), testkit::https::http_client())
                .load()
                .await;
            ensure!(
                config.region().is_some(),
                "AWS_REGION is not set: name the table's region (for a local emulator, the one it was seeded in)"
            );
            let client = Client::new(&config);
            let if_missing = match args.create {
                true => IfMissing::Create,
                false => IfMissing::Fail,
            };
            let written = testkit::seed::seed(&client, &args.table, if_missing, users.users()).await?;
            println!("seed: wrote {written} users to table {}", args.table);
            Ok(())
        })
}
