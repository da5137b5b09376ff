import ArgumentParser

/// `devsyncctl`: inspect and steer the devsync broker, in the manner of `boltctl`.
@main
struct DevsyncCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devsyncctl",
        abstract: "Inspect and steer the devsync device broker.",
        subcommands: [ProfilesCommand.self]
    )
}
