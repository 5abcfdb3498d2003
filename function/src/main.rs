//! The `function-imagecdn` binary: serves RunFunction (the default), or renders a
//! claim offline, or prints the XRD.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use function_imagecdn::{function::ImageCdnFunction, render, xrd};

#[derive(Parser)]
#[command(
    name = "function-imagecdn",
    version,
    about = "Crossplane composition function for ImageCDN: serves RunFunction, or renders a claim offline"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: function_sdk_rust::Args,
}

#[derive(Subcommand)]
enum Command {
    /// Render a claim (or XR) into its desired managed resources, as a YAML stream,
    /// exactly as RunFunction would; without CLAIM, the embedded complete example.
    Render {
        /// The ImageCDN claim or XImageCDN composite YAML file.
        claim: Option<PathBuf>,
        /// A file or folder of observed composed resources (with status), to render
        /// the resources that wait on values known only after creation.
        #[arg(long)]
        observed: Option<PathBuf>,
    },
    /// Print the CompositeResourceDefinition generated from the Rust spec types.
    Xrd,
    /// Print the claim reference (Markdown) generated from the same types.
    Reference,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Render { claim, observed }) => {
            match render::render(claim.as_deref(), observed.as_deref()) {
                Ok(yaml) => {
                    print!("{yaml}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("render: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Some(Command::Xrd) => {
            print!("{}", xrd::definition_yaml());
            ExitCode::SUCCESS
        }
        Some(Command::Reference) => {
            print!("{}", xrd::reference_markdown());
            ExitCode::SUCCESS
        }
        None => serve(&cli.serve),
    }
}

fn serve(args: &function_sdk_rust::Args) -> ExitCode {
    function_sdk_rust::logging::configure(args.debug);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(function_sdk_rust::serve(ImageCdnFunction, args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("function-imagecdn: {e}");
            ExitCode::FAILURE
        }
    }
}
