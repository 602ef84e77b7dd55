"""`actlab compare` and `actlab diagnose` from Python, through the same library entry points.

A config is a dict in the shape of a TOML config (fixed settings at the top level, axes under
"sweep") or the path of a TOML file; keyword arguments override single settings, as the CLI's
options do. Progress shows in a notebook as a block that updates in place, elsewhere as lines
on stderr; progress=False silences it.
"""
import html
import json
import math
import os
import sys

from actlab import _core
from actlab.progress import progress_display

_SOURCE = "config dict"


def _toml_value(key, value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(key, v) for v in value) + "]"
    raise TypeError(f"{_SOURCE}: {key} has a value of type {type(value).__name__}; "
                    "use a string, a number, true/false or a list of them")


def _config_toml(config):
    """The TOML text of a config dict, one setting per line."""
    lines, sweep = [], None
    for key, value in config.items():
        if key == "sweep":
            if not isinstance(value, dict):
                raise TypeError(f"{_SOURCE}: sweep must be a dict of axis -> list of values")
            sweep = value
        else:
            lines.append(f"{key} = {_toml_value(key, value)}")
    if sweep is not None:
        lines.append("[sweep]")
        lines += [f"{key} = {_toml_value(key, value)}" for key, value in sweep.items()]
    return "\n".join(lines) + "\n"


def _setting_text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def load(config=None, **settings):
    """The resolved actlab.Experiment of a config dict, a TOML path or None (the defaults), with
    `settings` applied. Raises actlab.Error naming the setting when one is wrong."""
    return _experiment(config, lambda: _core.parse_config("", "defaults"), settings)


def _experiment(config, defaults, settings):
    if config is None:
        experiment = defaults()
    elif isinstance(config, dict):
        experiment = _core.parse_config(_config_toml(config), _SOURCE)
    else:
        experiment = _core.load_config(os.fspath(config))
    for key, value in settings.items():
        experiment.set(key, _setting_text(value), f"{key}=")
    return experiment


class Comparison(dict):
    """summary.json of the experiment as a dict ("experiment", "settings", "environment", "runs",
    "by_activation"), plus "records": one flat dict per run and epoch, for pandas.DataFrame.
    `out_dir` is the output folder; in a notebook the report shows inline."""

    def __init__(self, summary, out_dir, interrupted):
        super().__init__(summary)
        self["records"] = epoch_records(summary)
        self.out_dir = out_dir
        self.interrupted = interrupted

    def report_html(self):
        with open(os.path.join(self.out_dir, "report.html"), encoding="utf-8") as page:
            return page.read()

    def _repr_html_(self):
        return ('<iframe style="width:100%;height:720px;border:0" sandbox="allow-scripts" srcdoc="'
                + html.escape(self.report_html(), quote=True) + '"></iframe>')

    def __repr__(self):
        arms = ", ".join(arm["arm"] for arm in self["by_activation"])
        return f"<actlab.Comparison of {len(self['runs'])} run(s) ({arms}) in {self.out_dir}>"


def epoch_records(summary):
    """One dict per run and epoch: arm, activation, the sweep axes, seed, status and the epoch's
    metrics (epoch, train_loss, train_acc, val_loss, val_acc, test_loss, test_acc, lr, seconds)."""
    records = []
    for run in summary["runs"]:
        run_fields = {"arm": run["arm"], "activation": run["activation"], **run.get("axes", {}),
                      "seed": run["seed"], "status": run["status"]}
        records += [{**run_fields, **epoch} for epoch in run["epochs"]]
    return records


def compare(config=None, *, progress=True, overwrite=False, **settings):
    """Runs the experiment as `actlab compare` does and returns its Comparison. The output folder
    is the `out` setting (default runs/<timestamp>-<name>); overwrite=True replaces an earlier
    experiment there. A KeyboardInterrupt stops the current run at its next step; the finished
    runs are returned, with interrupted=True."""
    experiment = load(config, **settings)
    # As the CLI: the default experiment runs on the built-in spirals when MNIST cannot be had.
    fall_back_to_spirals = config is None and "data" not in settings
    with progress_display("actlab compare", progress) as show:
        summary, out_dir, interrupted = _core.run_compare(experiment, show, overwrite, fall_back_to_spirals)
    return Comparison(json.loads(summary), out_dir, interrupted)


class Diagnosis(dict):
    """The gradient-flow diagnostics of one model as a dict (per-layer statistics, verdicts and,
    at initialization, "init_analysis"); str() and the notebook display give the table and the
    verdicts as `actlab diagnose` prints them. `out_dir` is the run's folder (None at init)."""

    def __init__(self, diagnostics, out_dir):
        super().__init__(diagnostics)
        self.out_dir = out_dir or None

    def __str__(self):
        return _core.diagnosis_text(json.dumps(self))

    def _repr_html_(self):
        return "<pre>" + html.escape(str(self)) + "</pre>"


def diagnose(config=None, *, at_init=False, progress=True, overwrite=False, **settings):
    """Diagnoses one model as `actlab diagnose` does: a short training run (by default relu,
    1 epoch on 10000 samples, a snapshot every 20 steps) or, with at_init=True, the
    initialization alone. Returns its Diagnosis."""
    experiment = _experiment(config, _core.diagnose_defaults, settings)
    with progress_display("actlab diagnose", progress) as show:
        diagnostics, out_dir = _core.run_diagnose(experiment, at_init, show, overwrite)
    return Diagnosis(json.loads(diagnostics), out_dir)
