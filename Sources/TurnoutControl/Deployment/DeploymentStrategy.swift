import TurnoutCore

/// One move of production traffic in a deployment's `AllowTraffic` phase: the replacement gets `weight`
/// percent, then the deployment bakes for `pause` and, with `approval`, waits for an `approve`.
public struct DeploymentStep: Sendable, Hashable {
    /// The replacement group's share of the listener's traffic after this step, in percent (1...100).
    public var weight: Int
    /// How long the split holds before the next step (the bake time); nil: no wait.
    public var pause: ConfigDuration?
    /// Whether the next step waits for an `approve`.
    public var approval: Bool

    public init(weight: Int, pause: ConfigDuration? = nil, approval: Bool = false) {
        self.weight = weight
        self.pause = pause
        self.approval = approval
    }
}

/// How a deployment shifts production: a name for the record and the steps it makes. The last step always
/// gives the replacement 100 %.
public struct DeploymentStrategy: Sendable, Hashable {
    /// The preset's name (`Canary10Percent5Minutes`), or `canary`, `linear`, `steps` for a custom one.
    public var name: String
    public var steps: [DeploymentStep]

    /// Everything at once.
    public static let allAtOnce = DeploymentStrategy(name: "AllAtOnce", steps: [DeploymentStep(weight: 100)])

    /// `percent` first, then the rest after `wait`.
    public static func canary(percent: Int, wait: ConfigDuration, name: String = "canary") -> DeploymentStrategy {
        DeploymentStrategy(name: name, steps: [DeploymentStep(weight: percent, pause: wait), DeploymentStep(weight: 100)])
    }

    /// `percent` more every `every`, until 100.
    public static func linear(percent: Int, every: ConfigDuration, name: String = "linear") -> DeploymentStrategy {
        var steps: [DeploymentStep] = []
        var weight = percent
        while weight < 100 {
            steps.append(DeploymentStep(weight: weight, pause: every))
            weight += percent
        }
        steps.append(DeploymentStep(weight: 100))
        return DeploymentStrategy(name: name, steps: steps)
    }

    /// CodeDeploy's predefined ECS configurations, by their short names.
    public static let presets: [String: DeploymentStrategy] = [
        "AllAtOnce": .allAtOnce,
        "Canary10Percent5Minutes": .canary(percent: 10, wait: .seconds(300), name: "Canary10Percent5Minutes"),
        "Canary10Percent15Minutes": .canary(percent: 10, wait: .seconds(900), name: "Canary10Percent15Minutes"),
        "Linear10PercentEvery1Minute": .linear(percent: 10, every: .seconds(60), name: "Linear10PercentEvery1Minute"),
        "Linear10PercentEvery3Minutes": .linear(percent: 10, every: .seconds(180), name: "Linear10PercentEvery3Minutes"),
    ]

    /// A preset by its short name or AWS's (`CodeDeployDefault.ECSCanary10Percent5Minutes`;
    /// `...Every1Minutes`, as AWS spells it, too); nil for an unknown name.
    public static func preset(named name: String) -> DeploymentStrategy? {
        var short = name
        let prefix = "CodeDeployDefault.ECS"
        if short.hasPrefix(prefix) { short = String(short.dropFirst(prefix.count)) }
        if short == "Linear10PercentEvery1Minutes" { short = "Linear10PercentEvery1Minute" }
        return presets[short]
    }
}
