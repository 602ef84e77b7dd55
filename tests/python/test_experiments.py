"""actlab.compare and actlab.diagnose: the runner of the CLI, its outputs as Python objects."""
import json

import pandas as pd
import pytest

import actlab

SMALL = {"name": "py-small", "data": "moons", "model": "mlp:16,16", "activations": ["relu", "tanh"],
         "epochs": 2, "batch": 64, "lr": 0.01, "log_every": 10, "threads": 1}


@pytest.fixture(scope="module")
def comparison(tmp_path_factory):
    out = tmp_path_factory.mktemp("compare") / "out"
    return actlab.compare({**SMALL, "out": str(out)}, progress=False)


def test_compare_returns_summary_json(comparison):
    with open(f"{comparison.out_dir}/summary.json", encoding="utf-8") as file:
        summary = json.load(file)
    assert set(comparison) == set(summary) | {"records"}
    for key in summary:
        assert comparison[key] == summary[key], key
    assert [arm["arm"] for arm in comparison["by_activation"]] == ["relu", "tanh"]
    assert not comparison.interrupted


def test_records_are_one_row_per_run_and_epoch(comparison):
    frame = pd.DataFrame(comparison["records"])
    assert len(frame) == 2 * 2
    assert {"arm", "activation", "seed", "status", "epoch", "train_loss", "test_acc", "lr"} <= set(frame.columns)
    assert sorted(frame["activation"].unique()) == ["relu", "tanh"]
    runs = {run["activation"]: run for run in comparison["runs"]}
    last_relu = frame[(frame.activation == "relu") & (frame.epoch == 2)].iloc[0]
    assert last_relu["test_acc"] == runs["relu"]["epochs"][-1]["test_acc"]


def test_report_displays_inline(comparison):
    page = comparison._repr_html_()
    assert page.startswith("<iframe") and "srcdoc=" in page
    assert "&lt;html" in page.lower() or "&lt;!doctype" in page.lower()


def test_sweeps_overrides_and_toml_paths(tmp_path):
    config = tmp_path / "sweep.toml"
    config.write_text('data = "moons"\nmodel = "mlp:8"\nactivations = ["relu"]\nepochs = 1\n'
                      'batch = 64\nthreads = 1\n[sweep]\ninit = ["standard", "he"]\n')
    result = actlab.compare(config, out=str(tmp_path / "out"), lr=0.02, progress=False)
    assert [arm["arm"] for arm in result["by_activation"]] == ["relu, init=standard", "relu, init=he"]
    assert result["settings"]["lr"] == pytest.approx(0.02)
    assert {record["init"] for record in result["records"]} == {"standard", "he"}
    swept = actlab.load({**SMALL, "sweep": {"init": ["standard", "he"]}}, lr=0.5)
    assert len(swept.arm_labels()) == 4
    swept.validate()
    assert swept.get("lr") == "0.5" and 'init = ["standard", "he"]' in swept.to_toml()
    keys = {entry["key"]: entry for entry in actlab.settings()}
    assert keys["lr"]["type"] == "float" and keys["lr"]["help"]


def test_bad_settings_raise_actlab_errors(tmp_path):
    with pytest.raises(actlab.Error, match="epochs must be an integer"):
        actlab.compare({**SMALL, "epochs": "two"}, progress=False)
    with pytest.raises(actlab.Error, match="unknown setting 'epoch'"):
        actlab.compare({**SMALL, "epoch": 2}, progress=False)
    with pytest.raises(actlab.Error, match="lr"):
        actlab.compare(SMALL, lr=-1, out=str(tmp_path / "bad"), progress=False)
    with pytest.raises(TypeError, match="model"):
        actlab.compare({**SMALL, "model": {"mlp": 16}}, progress=False)


def test_progress_lines_reach_python(tmp_path, capsys):
    actlab.compare({**SMALL, "activations": ["relu"], "epochs": 1, "out": str(tmp_path / "out")})
    assert "relu" in capsys.readouterr().err


def test_diagnose_at_init_and_after_a_short_run(tmp_path):
    at_init = actlab.diagnose(data="moons", model="mlp:16x6", activations="sigmoid", at_init=True, progress=False)
    assert at_init.out_dir is None and "init_analysis" in at_init
    assert "verdicts:" in str(at_init) and "<pre>" in at_init._repr_html_()
    trained = actlab.diagnose(data="moons", model="mlp:16,16", limit_train=640, diagnostics_every=5, threads=1,
                              out=str(tmp_path / "diag"), progress=False)
    assert trained.out_dir == str(tmp_path / "diag")
    assert "verdicts:" in str(trained)
    with pytest.raises(actlab.Error, match="one model"):
        actlab.diagnose(data="moons", activations=["relu", "tanh"], at_init=True, progress=False)
