"""Reads the TensorBoard event files of an `actlab compare --tensorboard` experiment on its own
(python3-protobuf with messages built from the field numbers of TensorBoard's published
event.proto, summary.proto and tensor.proto; python3-crc32c for the record checksums) and checks
every value against the experiment's metrics.jsonl, summary.json and config.toml.

Usage: tensorboard_reader.py TENSORBOARD_DIR OUT_DIR
Exit status: 0 when every check passes, 77 when python3-protobuf or python3-crc32c is missing,
1 with the failed check otherwise.
"""
import json
import math
import os
import re
import struct
import sys
import tomllib
from collections import defaultdict

try:
    import crc32c
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
except ImportError as missing:
    print(f"SKIP: {missing.name} is missing (apt-get install python3-protobuf python3-crc32c)")
    sys.exit(77)

F = descriptor_pb2.FieldDescriptorProto


def message(name, fields, nested=(), enums=(), oneofs=()):
    """A DescriptorProto; fields are (name, number, type, label, type_name, oneof index)."""
    m = descriptor_pb2.DescriptorProto(name=name)
    for o in oneofs:
        m.oneof_decl.add(name=o)
    for fname, number, ftype, label, type_name, oneof in fields:
        f = m.field.add(name=fname, number=number, type=ftype, label=label)
        if type_name:
            f.type_name = type_name
        if oneof is not None:
            f.oneof_index = oneof
    m.nested_type.extend(nested)
    m.enum_type.extend(enums)
    return m


def enum(name, values):
    e = descriptor_pb2.EnumDescriptorProto(name=name)
    for vname, number in values:
        e.value.add(name=vname, number=number)
    return e


OPT, REP = F.LABEL_OPTIONAL, F.LABEL_REPEATED


def build_classes():
    file = descriptor_pb2.FileDescriptorProto(name="actlab_tensorboard_subset.proto", package="tb", syntax="proto3")
    file.enum_type.append(enum("DataType", [("DT_INVALID", 0), ("DT_FLOAT", 1), ("DT_DOUBLE", 2), ("DT_STRING", 7)]))
    file.message_type.extend([
        message("Event", [
            ("wall_time", 1, F.TYPE_DOUBLE, OPT, None, None),
            ("step", 2, F.TYPE_INT64, OPT, None, None),
            ("file_version", 3, F.TYPE_STRING, OPT, None, 0),
            ("graph_def", 4, F.TYPE_BYTES, OPT, None, 0),
            ("summary", 5, F.TYPE_MESSAGE, OPT, ".tb.Summary", 0),
            ("session_log", 7, F.TYPE_MESSAGE, OPT, ".tb.SessionLog", 0),
        ], oneofs=["what"]),
        message("SessionLog", [
            ("status", 1, F.TYPE_ENUM, OPT, ".tb.SessionLog.SessionStatus", None),
            ("checkpoint_path", 2, F.TYPE_STRING, OPT, None, None),
            ("msg", 3, F.TYPE_STRING, OPT, None, None),
        ], enums=[enum("SessionStatus", [("STATUS_UNSPECIFIED", 0), ("START", 1), ("STOP", 2), ("CHECKPOINT", 3)])]),
        message("Summary", [("value", 1, F.TYPE_MESSAGE, REP, ".tb.Summary.Value", None)], nested=[
            message("Value", [
                ("node_name", 7, F.TYPE_STRING, OPT, None, None),
                ("tag", 1, F.TYPE_STRING, OPT, None, None),
                ("metadata", 9, F.TYPE_MESSAGE, OPT, ".tb.SummaryMetadata", None),
                ("simple_value", 2, F.TYPE_FLOAT, OPT, None, 0),
                ("histo", 5, F.TYPE_MESSAGE, OPT, ".tb.HistogramProto", 0),
                ("tensor", 8, F.TYPE_MESSAGE, OPT, ".tb.TensorProto", 0),
            ], oneofs=["value"])]),
        message("SummaryMetadata", [
            ("plugin_data", 1, F.TYPE_MESSAGE, OPT, ".tb.SummaryMetadata.PluginData", None),
            ("display_name", 2, F.TYPE_STRING, OPT, None, None),
            ("summary_description", 3, F.TYPE_STRING, OPT, None, None),
        ], nested=[message("PluginData", [
            ("plugin_name", 1, F.TYPE_STRING, OPT, None, None),
            ("content", 2, F.TYPE_BYTES, OPT, None, None)])]),
        message("HistogramProto", [
            ("min", 1, F.TYPE_DOUBLE, OPT, None, None), ("max", 2, F.TYPE_DOUBLE, OPT, None, None),
            ("num", 3, F.TYPE_DOUBLE, OPT, None, None), ("sum", 4, F.TYPE_DOUBLE, OPT, None, None),
            ("sum_squares", 5, F.TYPE_DOUBLE, OPT, None, None),
            ("bucket_limit", 6, F.TYPE_DOUBLE, REP, None, None), ("bucket", 7, F.TYPE_DOUBLE, REP, None, None),
        ]),
        message("TensorShapeProto", [
            ("dim", 2, F.TYPE_MESSAGE, REP, ".tb.TensorShapeProto.Dim", None),
            ("unknown_rank", 3, F.TYPE_BOOL, OPT, None, None),
        ], nested=[message("Dim", [("size", 1, F.TYPE_INT64, OPT, None, None),
                                   ("name", 2, F.TYPE_STRING, OPT, None, None)])]),
        message("TensorProto", [
            ("dtype", 1, F.TYPE_ENUM, OPT, ".tb.DataType", None),
            ("tensor_shape", 2, F.TYPE_MESSAGE, OPT, ".tb.TensorShapeProto", None),
            ("string_val", 8, F.TYPE_BYTES, REP, None, None),
        ]),
    ])
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    factory = message_factory.MessageFactory(pool)
    get = getattr(message_factory, "GetMessageClass", None) or factory.GetPrototype
    return get(pool.FindMessageTypeByName("tb.Event"))


Event = build_classes()


class Failure(Exception):
    pass


def check(condition, what):
    if not condition:
        raise Failure(what)


def masked(crc):
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def records(path):
    """The records of a TFRecord file, every checksum verified, no byte left over."""
    data = open(path, "rb").read()
    at = 0
    while at < len(data):
        check(at + 12 <= len(data), f"{path}: a record header is cut short at byte {at}")
        header = data[at:at + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", data[at + 8:at + 12])
        check(masked(crc32c.crc32c(header)) == length_crc, f"{path}: length checksum wrong at byte {at}")
        body = data[at + 12:at + 12 + length]
        check(len(body) == length and at + 16 + length <= len(data), f"{path}: a record is cut short at byte {at}")
        (data_crc,) = struct.unpack("<I", data[at + 12 + length:at + 16 + length])
        check(masked(crc32c.crc32c(body)) == data_crc, f"{path}: data checksum wrong at byte {at}")
        yield body
        at += 16 + length


def events(path):
    for body in records(path):
        event = Event()
        event.ParseFromString(body)
        unknown = getattr(event, "UnknownFields", None)
        check(unknown is None or len(unknown()) == 0, f"{path}: an event has fields outside event.proto")
        yield event


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def same(a, b):
    return (math.isnan(a) and math.isnan(b)) or a == b


def run_folder_name(arm, seed):
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", arm)
    return f"{name}-seed{seed}"


class Run:
    """What the event files of one run hold, by tag: [(step, value)] in file order."""

    def __init__(self, folder):
        self.scalars = defaultdict(list)
        self.histograms = defaultdict(list)
        self.texts = defaultdict(list)
        files = sorted(f for f in os.listdir(folder) if "tfevents" in f)
        check(files, f"{folder}: no event file")
        self.files = len(files)
        last_step = -1  # the largest step of the files read so far
        for index, name in enumerate(files):
            path = os.path.join(folder, name)
            stream = list(events(path))
            check(stream and stream[0].file_version == "brain.Event:2", f"{path}: does not open with file_version")
            body = stream[1:]
            if index > 0:
                check(body and body[0].HasField("session_log") and body[0].session_log.status == 1,
                      f"{path}: a resumed file must open with SessionLog START")
                # Readers drop what they hold from the restart's step on: nothing the earlier files keep.
                check(body[0].step > last_step, f"{path}: restarts at step {body[0].step}, but the earlier files "
                                                f"reach step {last_step}")
                body = body[1:]
            for event in body:
                check(event.HasField("summary"), f"{path}: an event without a summary")
                last_step = max(last_step, event.step)
                for value in event.summary.value:
                    kind = value.WhichOneof("value")
                    store = {"simple_value": self.scalars, "histo": self.histograms, "tensor": self.texts}[kind]
                    store[value.tag].append((event.step, getattr(value, kind) if kind != "tensor" else value))
        # Every tag's steps appear once each, in increasing order: none lost, none doubled by a resume.
        for store in (self.scalars, self.histograms, self.texts):
            for tag, points in store.items():
                steps = [s for s, _ in points]
                check(steps == sorted(set(steps)), f"{folder}: tag {tag} has steps {steps}, not each once in order")
        self.checked = 0

    def scalar(self, tag, expected):
        """Expected: {step: value}; the tag must hold exactly those steps and float32 values."""
        got = dict(self.scalars.get(tag, []))
        check(sorted(got) == sorted(expected), f"tag {tag}: steps {sorted(got)}, expected {sorted(expected)}")
        for step, value in expected.items():
            check(same(got[step], f32(value)), f"tag {tag} step {step}: {got[step]}, expected {f32(value)}")
        self.checked += len(expected)


def expected_histogram(bins, low, high, smallest, largest, mean, std):
    """The recorder's bins as TensorBoard reads them: the empty end bins left out, the outer edges
    widened to the smallest and largest value."""
    filled = [i for i, c in enumerate(bins) if c > 0]
    if not filled:
        return None
    first, last = filled[0], filled[-1]
    width = (high - low) / len(bins)
    lo = min(smallest, low + first * width)
    hi = max(largest, low + (last + 1) * width)
    limits = [low + (i + 1) * width for i in range(first, last + 1)]
    limits[-1] = hi
    num = float(sum(bins))
    return {"min": lo, "max": hi, "num": num, "sum": mean * num, "sum_squares": num * (std * std + mean * mean),
            "bucket_limit": limits, "bucket": [float(c) for c in bins[first:last + 1]]}


def close(a, b):
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-300) or same(a, b)


def check_histograms(run, tag, expected):
    got = dict(run.histograms.get(tag, []))
    check(sorted(got) == sorted(expected), f"histogram {tag}: steps {sorted(got)}, expected {sorted(expected)}")
    for step, want in expected.items():
        h = got[step]
        for field in ("min", "max", "num", "sum", "sum_squares"):
            check(close(getattr(h, field), want[field]), f"histogram {tag} step {step}: {field} {getattr(h, field)}, "
                                                         f"expected {want[field]}")
        check(list(h.bucket) == want["bucket"], f"histogram {tag} step {step}: buckets {list(h.bucket)}, "
                                                f"expected {want['bucket']}")
        check(len(h.bucket_limit) == len(want["bucket_limit"]) and
              all(close(a, b) for a, b in zip(h.bucket_limit, want["bucket_limit"])),
              f"histogram {tag} step {step}: limits {list(h.bucket_limit)}, expected {want['bucket_limit']}")
        run.checked += 5 + 2 * len(h.bucket)


def check_metrics(run, lines):
    steps = [l for l in lines if l["kind"] == "step"]
    epochs = [l for l in lines if l["kind"] == "epoch"]
    run.scalar("loss/train", {l["step"]: l["loss"] for l in steps})
    lr_of_epoch = {l["epoch"]: l["lr"] for l in epochs}
    # A logged step of epoch e (fractional epoch in (e-1, e]) trains at epoch e's learning rate.
    run.scalar("optimizer/learning_rate", {l["step"]: lr_of_epoch[math.ceil(l["epoch"])] for l in steps})
    norms = dict(run.scalars["optimizer/gradient_norm"])
    check(sorted(norms) == sorted(l["step"] for l in steps), "optimizer/gradient_norm: not at every logged step")
    check(all(math.isfinite(v) and v > 0 for v in norms.values()), f"optimizer/gradient_norm: {norms}")
    for tag, key in [("loss/train_epoch", "train_loss"), ("accuracy/train", "train_acc"),
                     ("loss/validation", "val_loss"), ("accuracy/validation", "val_acc"),
                     ("loss/test", "test_loss"), ("accuracy/test", "test_acc")]:
        # Without a validation set there is no val_acc (nor val_loss); any other null is a NaN (a
        # diverged epoch's loss).
        run.scalar(tag, {l["step"]: (math.nan if l.get(key) is None else l[key]) for l in epochs
                         if not key.startswith("val_") or l.get("val_acc") is not None})


def check_diagnostics(run, diagnostics):
    layers = [f"{l['name']} {l['type']}" for l in diagnostics["layers"]]
    snapshots = diagnostics["snapshots"]
    bins, span = diagnostics["histogram"]["bins"], diagnostics["histogram"]["range"]
    run.scalar("diagnostics/probe_loss", {s["step"]: s["loss"] for s in snapshots})
    for i, layer in enumerate(layers):
        stats = [(s["step"], s["layers"][i]) for s in snapshots]
        for tag, key in [("gradient_norm", "grad_norm"), ("weight_gradient_norm", "weight_grad_norm"),
                         ("update_ratio", "update_ratio"), ("dead_fraction", "dead_fraction"),
                         ("saturated_fraction", "saturated_fraction")]:
            expected = {step: l[key] for step, l in stats if l.get(key) is not None}
            if expected or f"{tag}/{layer}" in run.scalars:
                run.scalar(f"{tag}/{layer}", expected)
        for step, l in stats:
            check(len(l["histogram"]) == bins and len(l["grad_histogram"]) == bins, f"layer {layer}: bin count")
        check_histograms(run, f"activations/{layer}", {
            step: h for step, l in stats
            if (h := expected_histogram(l["histogram"], -span, span, l["min"], l["max"], l["mean"], l["std"]))})
        check_histograms(run, f"gradients/{layer}", {
            step: h for step, l in stats
            if (h := expected_histogram(l["grad_histogram"], l["grad_min"], l["grad_max"], l["grad_min"], l["grad_max"],
                                        l["grad_mean"], l["grad_std"]))})


def setting_text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def check_settings(run, config, result):
    texts = run.texts.get("settings", [])
    check(len(texts) == 1 and texts[0][0] == 0, f"settings: {len(texts)} text values, expected one at step 0")
    value = texts[0][1]
    check(value.metadata.plugin_data.plugin_name == "text", "settings: not for the text plugin")
    check(value.tensor.dtype == 7 and len(value.tensor.tensor_shape.dim) == 0 and len(value.tensor.string_val) == 1,
          "settings: not a scalar string tensor")
    markdown = value.tensor.string_val[0].decode()
    title = f"**{result['arm']} · seed {result['seed']}**\n"
    check(markdown.startswith(title), f"settings: title of {markdown[:60]!r}")
    rows = dict(re.findall(r"^\| (\w+) \| (.*) \|$", markdown, re.M)[1:])  # past the header row
    expected = {k: v for k, v in config.items() if k != "sweep"}
    expected["activations"] = result["activation"]
    expected.update({k: v for k, v in result.get("axes", {}).items() if k != "activation"})
    check(sorted(rows) == sorted(expected), f"settings: keys {sorted(rows)}, expected {sorted(expected)}")
    for key, want in expected.items():
        got = rows[key].replace("\\|", "|")
        ok = float(got) == want if isinstance(want, float) else got == setting_text(want)
        check(ok, f"settings: {key} = {got!r}, expected {want!r}")
    run.checked += len(expected)


def main(tensorboard_dir, out_dir):
    summary = json.load(open(os.path.join(out_dir, "summary.json")))
    config = tomllib.load(open(os.path.join(out_dir, "config.toml"), "rb"))
    lines = [json.loads(l) for l in open(os.path.join(out_dir, "metrics.jsonl"))]
    folders = sorted(os.listdir(tensorboard_dir))
    expected_folders = sorted(run_folder_name(r["arm"], r["seed"]) for r in summary["runs"])
    check(folders == expected_folders, f"run folders {folders}, expected {expected_folders}")
    total = 0
    for result in summary["runs"]:
        folder = os.path.join(tensorboard_dir, run_folder_name(result["arm"], result["seed"]))
        run = Run(folder)
        check_metrics(run, [l for l in lines if l["arm"] == result["arm"] and l["seed"] == result["seed"]])
        if "diagnostics" in result:
            check_diagnostics(run, result["diagnostics"])
        check_settings(run, config, result)
        print(f"{folder}: {run.files} event file(s), {run.checked} values as in the metrics files")
        total += run.checked
    print(f"ok: {total} values checked in {len(summary['runs'])} runs")


if __name__ == "__main__":
    try:
        main(sys.argv[1], sys.argv[2])
    except Failure as failure:
        print(f"FAIL: {failure}")
        sys.exit(1)
