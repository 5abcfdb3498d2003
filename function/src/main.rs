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
    /// Print what `kubectl get` and `kubectl describe` would show for a claim (or
    /// namespaced ImageCDN) with the given observed state: status, conditions, events.
    Describe {
        /// The ImageCDN claim or composite YAML file (default: the complete example).
        claim: Option<PathBuf>,
        /// A file or folder of observed composed resources (default: none exist yet).
        #[arg(long)]
        observed: Option<PathBuf>,
        /// `in-flight` rewinds the observed state to mid-install (CloudFront deploying,
        /// ACM waiting for its DNS validation record); `after-in-flight` shows the
        /// observed state with the events of reaching it from there.
        #[arg(long, value_enum, default_value = "as-observed")]
        when: function_imagecdn::describe::When,
    },
    /// Write the Backstage Software Templates (one per API) and their skeletons,
    /// generated from the spec types, under DIR (default: the current directory, as
    /// package/backstage/...).
    BackstageTemplate {
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
    /// Print the CompositeResourceDefinition generated from the Rust spec types: the
    /// claim API's (apis/definition.yaml), or the namespaced API's.
    Xrd {
        /// The namespaced API's XRD (apis/namespaced/definition.yaml).
        #[arg(long)]
        namespaced: bool,
    },
    /// Print the claim reference (Markdown) generated from the same types.
    Reference,
    /// Sign a URL for a tenant that requires signed URLs (CloudFront canned or custom
    /// policy), printing the signed URL.
    Sign {
        /// The URL to sign, e.g. https://images.example.com/partners/media/a.jpg?w=400
        url: String,
        /// The CloudFront public key ID (`status` of the tenant's PublicKey).
        #[arg(long)]
        key_pair_id: String,
        /// PEM file with the private key (RSA PKCS#1/PKCS#8, or P-256 ECDSA PKCS#8).
        #[arg(long)]
        private_key: PathBuf,
        /// Expiry as Unix epoch seconds.
        #[arg(
            long,
            conflicts_with = "expires_in",
            required_unless_present = "expires_in"
        )]
        expires: Option<u64>,
        /// Expiry as seconds from now.
        #[arg(long)]
        expires_in: Option<u64>,
        /// Not valid before this Unix time (custom policy).
        #[arg(long)]
        not_before: Option<u64>,
        /// Only this source IP or CIDR may use the URL (custom policy).
        #[arg(long)]
        ip: Option<String>,
        /// Sign a custom policy for this resource pattern instead of the URL (e.g. a
        /// trailing `*`), so one signature covers many URLs.
        #[arg(long)]
        resource: Option<String>,
        /// Use a custom policy even without the options above.
        #[arg(long)]
        custom_policy: bool,
        /// Signature digest: sha1 (classic) or sha256 (also needed for ECDSA keys).
        #[arg(long, value_enum, default_value = "sha1")]
        hash: function_imagecdn::sign::HashAlgorithm,
    },
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
        Some(Command::Describe {
            claim,
            observed,
            when,
        }) => match render::describe(claim.as_deref(), observed.as_deref(), when) {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("describe: {e}");
                ExitCode::FAILURE
            }
        },
        Some(Command::BackstageTemplate { out }) => {
            for (path, content) in function_imagecdn::portal::files() {
                let file = out.join(&path);
                let written = file
                    .parent()
                    .map_or(Ok(()), std::fs::create_dir_all)
                    .and_then(|()| std::fs::write(&file, content));
                if let Err(e) = written {
                    eprintln!("backstage-template: {}: {e}", file.display());
                    return ExitCode::FAILURE;
                }
                println!("wrote {}", file.display());
            }
            ExitCode::SUCCESS
        }
        Some(Command::Xrd { namespaced }) => {
            if namespaced {
                print!("{}", xrd::namespaced_definition_yaml());
            } else {
                print!("{}", xrd::definition_yaml());
            }
            ExitCode::SUCCESS
        }
        Some(Command::Reference) => {
            print!("{}", xrd::reference_markdown());
            ExitCode::SUCCESS
        }
        Some(Command::Sign {
            url,
            key_pair_id,
            private_key,
            expires,
            expires_in,
            not_before,
            ip,
            resource,
            custom_policy,
            hash,
        }) => {
            let pem = match std::fs::read_to_string(&private_key) {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("sign: cannot read {}: {e}", private_key.display());
                    return ExitCode::FAILURE;
                }
            };
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or_default();
            let request = function_imagecdn::sign::SignRequest {
                url,
                expires: expires.unwrap_or_else(|| now + expires_in.unwrap_or_default()),
                not_before,
                ip_address: ip,
                custom_policy,
                resource,
                key_pair_id,
                hash,
            };
            match function_imagecdn::sign::sign_url(&request, &pem) {
                Ok(signed) => {
                    println!("{signed}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("sign: {e}");
                    ExitCode::FAILURE
                }
            }
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
