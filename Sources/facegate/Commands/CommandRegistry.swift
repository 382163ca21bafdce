import ArgumentParser

/// All top-level subcommands. Add one line per command.
enum CommandRegistry {
    static let all: [any ParsableCommand.Type] = [
        AnalyzeCommand.self,
        EmbedCommand.self,
        CompareCommand.self,
        BenchCommand.self,
        ServeCommand.self,
        KeysCommand.self,
        BenchServerCommand.self,
        UsersCommand.self,
        BenchGalleryCommand.self,
        EnrollCommand.self,
        VerifyCommand.self,
        IdentifyCommand.self,
        CalibrateCommand.self,
        AuthenticateCommand.self,
        AttackCommand.self,
        EvaluatePadCommand.self,
        CalibratePadCommand.self,
        EvaluateLivenessCommand.self,
        LivenessCommand.self,
        ModelsCommand.self,
        GatherCommand.self,
        TrainCommand.self,
        EvaluateCommand.self,
        ExportCommand.self,
        ConfigCommand.self,
        AuditCommand.self,
        DaemonCommand.self,
    ]
}
