//! `cargo xtask dynamodb-local`: runs DynamoDB Local in the foreground (installing it on first use),
//! optionally with the sample users seeded, until Ctrl-C.

use std::time::Duration;

use anyhow::Result;
use app_core::store::dynamodb;
use app_core::store::memory::MemoryStore;
use aws_sdk_dynamodb::Client;
use clap::Args;
use testkit::dynamodb_local::{ACCESS_KEY, DynamoDbLocal, REGION};

/// Options of `cargo xtask dynamodb-local`.
#[derive(Debug, Args)]
pub struct DynamoDbLocalArgs {
    /// The port to listen on (127.0.0.1)
    #[arg(long, default_value_t = 8000)]
    port: u16,
    /// Create this table and write the sample users into it
    #[arg(long, value_name = "TABLE", default_value = "Users")]
    seed: String,
}

/// Runs `cargo xtask dynamodb-local`.
pub fn run(args: &DynamoDbLocalArgs) -> Result<()> {
    println!(
        "dynamodb-local: starting on 127.0.0.1:{} (installs on first use)",
        args.port
    );
    let local = DynamoDbLocal::launch(args.port);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let config = local.sdk_config(Duration::from_secs(10)).await;
        let client = Client::new(&config);
        dynamodb::create_table(&client, &args.seed).await?;
        for user in MemoryStore::sample().users() {
            dynamodb::put_user(&client, &args.seed, user).await?;
        }
        println!(
            "dynamodb-local: table {} holds the sample users. Point a target at it with:\n\n  \
             USER_STORE=dynamodb USERS_TABLE={} AWS_ENDPOINT_URL_DYNAMODB={} AWS_REGION={} \\\n  \
             AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={} cargo run -p k8s-server\n\nCtrl-C stops it.",
            args.seed,
            args.seed,
            local.endpoint(),
            REGION,
            ACCESS_KEY,
            ACCESS_KEY,
        );
        tokio::signal::ctrl_c().await?;
        anyhow::Ok(())
    })?;
    drop(local);
    println!("dynamodb-local: stopped");
    Ok(())
}
