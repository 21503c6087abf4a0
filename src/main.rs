fn main() -> std::process::ExitCode {
    nnlab::cli::main()
}
