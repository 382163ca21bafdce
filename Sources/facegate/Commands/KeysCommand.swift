import ArgumentParser

/// `facegate keys …`: server API keys (create/list/revoke, in ApiKeysCommand.swift) and the template key
/// (`rotate`, added by the identity work — register it in `subcommands`).
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Manage server API keys and the template encryption key.",
        subcommands: [
            KeysCreateCommand.self,
            KeysListCommand.self,
            KeysRevokeCommand.self,
            KeysRotateCommand.self,
        ])
}
