import TurnoutCore
import XCTest

@testable import TurnoutControl

/// `DeploymentSpec.parse`: every strategy's steps, and every refusal naming its field.
final class DeploymentSpecTests: XCTestCase {
    private func table(production: String = "{ blue: 100 }") throws -> RoutingTable {
        let config = try ConfigLoader.parse(yaml: """
            listeners:
              production: { bind: 127.0.0.1:8080, forward: \(production) }
              test: { bind: 127.0.0.1:8081, forward: { green: 100 } }
            target_groups:
              blue: { targets: [127.0.0.1:3000] }
              green: { targets: [127.0.0.1:3002] }
            """)
        return RoutingTable(config: config, generation: 1)
    }

    private func parse(_ json: String, production: String = "{ blue: 100 }") throws -> DeploymentSpec {
        try DeploymentSpec.parse(JSONReader.parse(Array(json.utf8)), table: table(production: production))
    }

    private func refusal(_ json: String, production: String = "{ blue: 100 }") throws -> DeploymentSpecError {
        do {
            _ = try parse(json, production: production)
        } catch let error as DeploymentSpecError {
            return error
        }
        XCTFail("accepted \(json)")
        return DeploymentSpecError(field: "", message: "")
    }

    func testDefaults() throws {
        let spec = try parse(#"{"target_group": "green"}"#)
        XCTAssertEqual(spec.listener, "production")
        XCTAssertEqual(spec.testListener, "test")
        XCTAssertEqual(spec.strategy, .allAtOnce)
        XCTAssertEqual(spec.readiness, DeploymentSpec.defaultReadiness)
        XCTAssertEqual(spec.terminationWait.nanoseconds, 0)
        XCTAssertNil(spec.alarms)
        XCTAssertEqual(try parse(#"{"target_group": "green", "test_listener": null}"#).testListener, nil)
    }

    func testPresetsAndTheirAWSNames() throws {
        let canary = try parse(#"{"target_group": "green", "strategy": "Canary10Percent5Minutes"}"#).strategy.steps
        XCTAssertEqual(canary, [DeploymentStep(weight: 10, pause: .seconds(300)), DeploymentStep(weight: 100)])
        let aws = try parse(#"{"target_group": "green", "strategy": "CodeDeployDefault.ECSCanary10Percent15Minutes"}"#)
        XCTAssertEqual(aws.strategy.steps, [DeploymentStep(weight: 10, pause: .seconds(900)), DeploymentStep(weight: 100)])
        let linear = try parse(#"{"target_group": "green", "strategy": "CodeDeployDefault.ECSLinear10PercentEvery1Minutes"}"#)
        XCTAssertEqual(linear.strategy.steps.map(\.weight), [10, 20, 30, 40, 50, 60, 70, 80, 90, 100])
        XCTAssertEqual(linear.strategy.steps.map(\.pause), Array(repeating: .seconds(60), count: 9) + [nil])
        let three = try parse(#"{"target_group": "green", "strategy": "Linear10PercentEvery3Minutes"}"#)
        XCTAssertEqual(three.strategy.steps.first?.pause, .seconds(180))
        XCTAssertEqual(try parse(#"{"target_group": "green", "strategy": "CodeDeployDefault.ECSAllAtOnce"}"#).strategy, .allAtOnce)
    }

    func testCustomStrategies() throws {
        let canary = try parse(#"{"target_group": "green", "strategy": {"canary": {"percent": 25, "wait": "300ms"}}}"#)
        XCTAssertEqual(canary.strategy.steps, [DeploymentStep(weight: 25, pause: .milliseconds(300)), DeploymentStep(weight: 100)])
        let linear = try parse(#"{"target_group": "green", "strategy": {"linear": {"percent": 40, "every": "1s"}}}"#)
        XCTAssertEqual(linear.strategy.steps.map(\.weight), [40, 80, 100])
        let steps = try parse(#"""
            {"target_group": "green", "strategy": {"steps": [{"weight": 20, "pause": "1s"}, {"weight": 50, "approval": true},
             {"weight": 100}]}}
            """#)
        XCTAssertEqual(steps.strategy.steps, [
            DeploymentStep(weight: 20, pause: .seconds(1)), DeploymentStep(weight: 50, approval: true), DeploymentStep(weight: 100),
        ])
    }

    func testHooksAlarmsApprovalReadiness() throws {
        let spec = try parse(#"""
            {"target_group": "green", "targets": ["127.0.0.1:3003"],
             "readiness": {"min_healthy": "50%", "timeout": "2s"},
             "install": {"exec": "docker compose up -d app-green", "timeout": "5m"},
             "hooks": {"AfterAllowTestTraffic": {"http": {"url": "http://127.0.0.1:7000/validate", "timeout": "2m"}},
                       "BeforeAllowTraffic": {"exec": {"command": "./smoke.sh --fast", "timeout": "1m"}},
                       "AfterAllowTraffic": {"exec": "exit 3", "shell": true}},
             "alarms": {"max_5xx_rate": 0.01, "max_p99": "500ms", "max_p99_ratio": 2.0, "window": "30s", "min_requests": 20,
                        "max_unhealthy_targets": 0},
             "approval": {"before_traffic": true, "timeout": "1h", "on_timeout": "continue"},
             "termination_wait": "1h", "terminate": {"exec": ["docker", "compose", "stop", "app blue"]}}
            """#)
        XCTAssertEqual(spec.targets, [HostPort(host: "127.0.0.1", port: 3003)])
        XCTAssertEqual(spec.readiness, DeploymentSpec.Readiness(minHealthy: .percent(50), timeout: .seconds(2)))
        XCTAssertEqual(spec.install, HookSpec(action: .exec(arguments: ["docker", "compose", "up", "-d", "app-green"]), timeout: .seconds(300)))
        XCTAssertEqual(spec.hooks[.afterAllowTestTraffic], HookSpec(action: .http(url: "http://127.0.0.1:7000/validate"), timeout: .seconds(120)))
        XCTAssertEqual(spec.hooks[.beforeAllowTraffic], HookSpec(action: .exec(arguments: ["./smoke.sh", "--fast"]), timeout: .seconds(60)))
        XCTAssertEqual(spec.hooks[.afterAllowTraffic]?.action, .exec(arguments: ["/bin/sh", "-c", "exit 3"]))
        XCTAssertEqual(spec.terminate?.action, .exec(arguments: ["docker", "compose", "stop", "app blue"]))
        XCTAssertEqual(spec.alarms?.figures.max5xxRate, 0.01)
        XCTAssertEqual(spec.alarms?.figures.maxP99, 0.5)
        XCTAssertEqual(spec.alarms?.figures.maxP99Ratio, 2.0)
        XCTAssertEqual(spec.alarms?.figures.minRequests, 20)
        XCTAssertEqual(spec.alarms?.windowSeconds, 30)
        XCTAssertEqual(spec.alarms?.maxUnhealthyTargets, 0)
        XCTAssertEqual(spec.approval, DeploymentSpec.Approval(beforeTraffic: true, timeout: .seconds(3600), onTimeout: .continue))
        XCTAssertEqual(spec.terminationWait, .seconds(3600))
    }

    func testRefusalsNameTheField() throws {
        let cases: [(String, String, String)] = [
            (#"{"target_group": "green", "stratgy": "AllAtOnce"}"#, "stratgy", "unknown key (did you mean 'strategy'?)"),
            (#"{"target_group": "purple"}"#, "target_group", "no target group named 'purple'"),
            (#"{"target_group": "blue"}"#, "target_group", "'blue' is the live group of 'production': name the replacement"),
            (#"{}"#, "target_group", "missing: name the replacement group"),
            (#"{"target_group": "green", "listener": "staging"}"#, "listener", "no listener named 'staging'"),
            (#"{"target_group": "green", "test_listener": "production"}"#, "test_listener", "must differ from 'listener' (production)"),
            (#"{"target_group": "green", "strategy": "Canary99"}"#, "strategy",
             "unknown strategy 'Canary99'; use one of AllAtOnce, Canary10Percent15Minutes, Canary10Percent5Minutes, "
                + "Linear10PercentEvery1Minute, Linear10PercentEvery3Minutes, or {canary}, {linear}, {steps}"),
            (#"{"target_group": "green", "strategy": {"canary": {"percent": 100, "wait": "1s"}}}"#, "strategy.canary.percent",
             "must be 1 to 99, not 100"),
            (#"{"target_group": "green", "strategy": {"linear": {"percent": 10, "every": 5}}}"#, "strategy.linear.every",
             "must be a duration with a unit (300ms, 5s, 2m)"),
            (#"{"target_group": "green", "strategy": {"steps": [{"weight": 50}, {"weight": 40}]}}"#, "strategy.steps[1].weight",
             "must be more than 50 and at most 100, not 40"),
            (#"{"target_group": "green", "strategy": {"steps": [{"weight": 50}]}}"#, "strategy.steps[0].weight", "the last step must be 100"),
            (#"{"target_group": "green", "hooks": {"AfterInstal": {"exec": "true"}}}"#, "hooks.AfterInstal",
             "unknown key (did you mean 'AfterInstall'?)"),
            (#"{"target_group": "green", "hooks": {"AfterInstall": {"exec": "true", "http": "http://x/"}}}"#, "hooks.AfterInstall",
             "give either 'http' or 'exec'"),
            (#"{"target_group": "green", "alarms": {"window": "1500ms"}}"#, "alarms.window",
             "must be whole seconds (the figures are per second), not 1500ms"),
            (#"{"target_group": "green", "alarms": {"max_5xx_rate": 2}}"#, "alarms.max_5xx_rate", "must be a share from 0 to 1, not 2.0"),
            (#"{"target_group": "green", "readiness": {"min_healthy": "150%"}}"#, "readiness.min_healthy",
             "'150%' is not a percentage 0% to 100%"),
            (#"{"target_group": "green", "approval": {"on_timeout": "wait"}}"#, "approval.on_timeout", "must be rollback or continue, not 'wait'"),
            (#"{"target_group": "green", "targets": ["nowhere"]}"#, "targets[0]", "'nowhere' is not host:port"),
        ]
        for (json, field, message) in cases {
            let error = try refusal(json)
            XCTAssertEqual(error, DeploymentSpecError(field: field, message: message), json)
        }
        XCTAssertEqual(try refusal(#"{"target_group": "green"}"#, production: "{ blue: 90, green: 10 }"),
                       DeploymentSpecError(field: "listener",
                                           message: "'production' splits its traffic (blue 90, green 10): a deployment starts from one live group"))
    }
}
