//! `cargo xtask aws-local`: runs moto server, the open-source AWS emulator, in the foreground
//! (installing it on first use) with table `Users` holding the sample users, until Ctrl-C.

use anyhow::Result;
use clap::Args;
use testkit::moto::Moto;

/// Options of `cargo xtask aws-local`.
#[derive(Debug, Args)]
pub struct AwsLocalArgs {
    /// The port to listen on (127.0.0.1); 0, the default, takes a free one and prints it
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// The table to create and fill with the sample users
    #[arg(long, value_name = "TABLE", default_value = "Users")]
    table: String,
}

/// Runs `cargo xtask aws-local`.
pub fn run(args: &AwsLocalArgs) -> Result<()> {
    println!(
        "aws-local: starting moto server (tools/python/moto.txt, installed into target/ on first use)"
    );
    let moto = Moto::launch(args.port)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        moto.seed_sample(&args.table).await?;
        let settings: Vec<String> = moto
            .service_env(&args.table)
            .into_iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        println!(
            "aws-local: moto on {} (DynamoDB, S3, ...); table {} holds the sample users. Point a \
             target at it with:\n\n  {} cargo run -p k8s-server\n\nCtrl-C stops it.",
            moto.endpoint(),
            args.table,
            settings.join(" "),
        );
        tokio::signal::ctrl_c().await?;
        anyhow::Ok(())
    })?;
    drop(moto);
    println!("aws-local: stopped");
    Ok(())
}
