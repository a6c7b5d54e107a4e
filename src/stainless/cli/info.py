"""``stainless info``: versions, devices, threads, bf16 — what a bug report needs."""

from __future__ import annotations

import argparse
import json
import platform
from typing import Any

from stainless.provenance import package_versions


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the ``info`` command."""
    parser = subparsers.add_parser(
        "info",
        help="print versions, devices and threads (paste into bug reports)",
        description="Print versions of stainless and its main dependencies, the torch devices, "
        "the CPU thread count and whether bfloat16 is supported.",
    )
    parser.add_argument("--json", action="store_true", help="print as JSON")
    parser.set_defaults(handler=run)


def _bf16_supported(torch: Any) -> dict[str, bool]:
    support = {"cpu": False}
    try:
        x = torch.ones(8, 8, dtype=torch.bfloat16)
        support["cpu"] = bool(torch.isfinite((x @ x).float()).all())
    except RuntimeError:
        support["cpu"] = False
    if torch.cuda.is_available():
        support["cuda"] = bool(torch.cuda.is_bf16_supported())
    return support


def collect() -> dict[str, Any]:
    """Everything ``stainless info`` prints, as a dict."""
    import torch

    devices = ["cpu"]
    if torch.cuda.is_available():
        devices += [
            f"cuda:{i} ({torch.cuda.get_device_name(i)})" for i in range(torch.cuda.device_count())
        ]
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        devices.append("mps")
    return {
        "versions": {"python": platform.python_version(), **package_versions()},
        "platform": platform.platform(),
        "torch_devices": devices,
        "torch_threads": torch.get_num_threads(),
        "bf16_supported": _bf16_supported(torch),
    }


def run(args: argparse.Namespace) -> int:
    """Print the environment report."""
    report = collect()
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    for name, value in report["versions"].items():
        print(f"{name:<14}{value}")
    print(f"{'platform':<14}{report['platform']}")
    print(f"{'devices':<14}{', '.join(report['torch_devices'])}")
    print(f"{'threads':<14}{report['torch_threads']}")
    bf16 = ", ".join(
        f"{device}: {'yes' if ok else 'no'}" for device, ok in report["bf16_supported"].items()
    )
    print(f"{'bf16':<14}{bf16}")
    return 0
