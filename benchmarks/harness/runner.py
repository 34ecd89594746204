"""Runs workloads: fresh proxies per workload, warm-up, interleaved rounds (A B C A B C …), medians."""

import subprocess
from dataclasses import dataclass, field

from .environment import log
from .processes import ServiceSet, StartFailure
from .proxies import check_proxying, label, proxy_command
from .workloads import Target, median


@dataclass
class ProxyOutcome:
    """One proxy in one workload: its rounds, or why it could not be measured."""

    rounds: list = field(default_factory=list)
    failure: str = ""
    command: str = ""

    def summary(self):
        """Medians over the rounds and the error total."""
        if not self.rounds:
            return None
        return {
            "value": median([r.value for r in self.rounds]),
            "p50_ms": median([r.p50_ms for r in self.rounds]),
            "p99_ms": median([r.p99_ms for r in self.rounds]),
            "p999_ms": median([r.p999_ms for r in self.rounds]),
            "cpu_cores": median([r.cpu_cores for r in self.rounds]),
            "per_cpu": median([r.value / r.cpu_cores for r in self.rounds if r.cpu_cores]),
            "errors": sum(r.errors for r in self.rounds),
        }


def start_proxies(services, workload, proxies, settings, context):
    """Starts and checks each proxy; returns the usable Targets and records failures in `outcomes`."""
    targets, outcomes = [], {}
    for proxy in proxies:
        outcome = outcomes[proxy] = ProxyOutcome()
        port = context.ports[proxy]
        command = proxy_command(proxy, context.work, context.ports, settings, context.turnout_bin)
        outcome.command = " ".join(str(part) for part in command)
        log(f"[{workload.key}] starting {label(proxy)} on 127.0.0.1:{port}")
        service = services.start(proxy, command, context.work)
        try:
            service.wait_listening(port)
            check_proxying(service, port, workload.checked_paths, tls=settings.tls)
        except StartFailure as failure:
            outcome.failure = str(failure)
            log(str(failure))
            service.stop()
            continue
        targets.append(Target(proxy, port, service, context.open_loop, context.handshakes))
    return targets, outcomes


def run_workload(workload, proxies, context):
    """Measures `workload` on each of `proxies`; returns {proxy: ProxyOutcome}."""
    options = context.options
    settings = workload.settings(options)
    rounds = 1 if workload.single_round else options.rounds
    with ServiceSet() as services:
        targets, outcomes = start_proxies(services, workload, proxies, settings, context)
        for target in targets:
            log(f"[{workload.key}] warming up {label(target.proxy)}")
            workload.warm_up(target, options)
        for round_number in range(1, rounds + 1):
            for target in list(targets):
                log(f"[{workload.key}] round {round_number}/{rounds}: {label(target.proxy)}")
                try:
                    measurement = workload.measure(target, options)
                    failure = None if target.service.alive() else "exited during the measurement"
                except (RuntimeError, OSError, ValueError, subprocess.SubprocessError) as error:
                    failure = f"could not be measured: {error}"
                if failure:
                    outcomes[target.proxy].failure = str(target.service.failure(failure))
                    log(outcomes[target.proxy].failure)
                    targets.remove(target)
                    continue
                outcomes[target.proxy].rounds.append(measurement)
    return outcomes
