fn main() -> std::process::ExitCode {
    kindling::cli::main()
}
