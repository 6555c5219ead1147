//! The `pgward` binary: parse arguments, run the library, print the error, and map the
//! outcome to an exit code (0 ok, 1 SQL error, 2 refused, 3 configuration or connection,
//! 4–8 a COMMIT outcome that needs attention; see README's exit-code table).

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = match pgward::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return std::process::ExitCode::from(if e.use_stderr() { 3 } else { 0 });
        }
    };
    let code = match pgward::run(cli) {
        Ok(code) => code,
        Err(e) => {
            // The message may quote the config file, the server or the input.
            eprintln!(
                "pgward: {}",
                pgward::render::escape::multi_line(&e.to_string())
            );
            e.exit_code()
        }
    };
    std::process::ExitCode::from(code.code() as u8)
}
