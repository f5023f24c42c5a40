#!/usr/bin/env python3
"""Compare proto/*.proto against the descriptors shipped in the
`yandexcloud` (and googleapis-common-protos) PyPI packages.
Run with: python proto/check.py proto  (in a venv with yandexcloud and grpcio-tools)"""
import glob, importlib, inspect, os, subprocess, sys, tempfile

import grpc_tools
from google.protobuf import descriptor_pb2 as dpb

ROOT = sys.argv[1] if len(sys.argv) > 1 else "/work/main/proto"
F = dpb.FieldDescriptorProto
mismatches, infos = [], []
counts = dict(files=0, messages=0, fields=0, enums=0, methods=0, paths=0)


def bad(msg):
    mismatches.append(msg)


def compile_ours():
    files = sorted(os.path.relpath(p, ROOT) for p in glob.glob(f"{ROOT}/**/*.proto", recursive=True))
    out = os.path.join(tempfile.mkdtemp(), "ours.pb")
    wkt = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    cmd = [sys.executable, "-m", "grpc_tools.protoc", f"-I{ROOT}", f"-I{wkt}",
           f"--descriptor_set_out={out}", "--include_imports", *files]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0 or r.stderr.strip():
        print("protoc failed / warned:\n" + r.stderr)
        if r.returncode != 0:
            sys.exit(2)
    fds = dpb.FileDescriptorSet.FromString(open(out, "rb").read())
    return [f for f in fds.file if f.name in files]


def sdk_file(name):
    mod = importlib.import_module(name[:-len(".proto")].replace("/", ".") + "_pb2")
    if not getattr(mod, "__file__", None):
        raise ImportError(f"{mod.__name__} is not a file from the SDK")
    return dpb.FileDescriptorProto.FromString(mod.DESCRIPTOR.serialized_pb)


def field_sig(f, oneofs):
    return dict(
        name=f.name, type=F.Type.Name(f.type), label=F.Label.Name(f.label),
        type_name=f.type_name, oneof=(oneofs[f.oneof_index] if f.HasField("oneof_index") else None),
        proto3_optional=f.proto3_optional, deprecated=f.options.deprecated,
        packed=(f.options.packed if f.options.HasField("packed") else None),
    )


def cmp_enum(full, ours, theirs):
    counts["enums"] += 1
    a = {v.number: v.name for v in ours.value}
    b = {v.number: v.name for v in theirs.value}
    if a != b:
        bad(f"enum {full}: ours {a} != sdk {b}")


def cmp_message(full, ours, theirs):
    counts["messages"] += 1
    if ours.options.map_entry != theirs.options.map_entry:
        bad(f"{full}: map_entry differs")
    oo = [o.name for o in ours.oneof_decl]
    to = [o.name for o in theirs.oneof_decl]
    if oo != to:
        bad(f"{full}: oneofs ours {oo} != sdk {to}")
    of = {f.number: field_sig(f, oo) for f in ours.field}
    tf = {f.number: field_sig(f, to) for f in theirs.field}
    for n in sorted(set(of) | set(tf)):
        counts["fields"] += 1
        if n not in of:
            bad(f"{full}: missing field #{n} {tf[n]['name']} ({tf[n]['type']})")
        elif n not in tf:
            bad(f"{full}: extra field #{n} {of[n]['name']} not in SDK")
        elif of[n] != tf[n]:
            diff = {k: (of[n][k], tf[n][k]) for k in of[n] if of[n][k] != tf[n][k]}
            bad(f"{full}: field #{n} differs (ours, sdk): {diff}")
    rr = lambda m: sorted((r.start, r.end) for r in m.reserved_range)
    if rr(ours) != rr(theirs):
        bad(f"{full}: reserved ranges ours {rr(ours)} != sdk {rr(theirs)}")
    if sorted(ours.reserved_name) != sorted(theirs.reserved_name):
        bad(f"{full}: reserved names ours {list(ours.reserved_name)} != sdk {list(theirs.reserved_name)}")
    tn = {m.name: m for m in theirs.nested_type}
    for m in ours.nested_type:
        if m.name not in tn:
            bad(f"{full}.{m.name}: nested message not in SDK")
        else:
            cmp_message(f"{full}.{m.name}", m, tn[m.name])
    for name in set(tn) - {m.name for m in ours.nested_type}:
        bad(f"{full}.{name}: nested message missing")
    te = {e.name: e for e in theirs.enum_type}
    for e in ours.enum_type:
        if e.name not in te:
            bad(f"{full}.{e.name}: nested enum not in SDK")
        else:
            cmp_enum(f"{full}.{e.name}", e, te[e.name])
    for name in set(te) - {e.name for e in ours.enum_type}:
        bad(f"{full}.{name}: nested enum missing")


def grpc_paths(file_name):
    # read the generated stub file from disk (do not import: grpc_tools
    # installs an import hook that would generate it from our .proto files)
    import yandexcloud
    site = os.path.dirname(os.path.dirname(yandexcloud.__file__))
    p = os.path.join(site, file_name[:-len(".proto")] + "_pb2_grpc.py")
    return open(p).read() if os.path.exists(p) else ""


def cmp_file(ours):
    counts["files"] += 1
    try:
        theirs = sdk_file(ours.name)
    except ImportError as e:
        bad(f"{ours.name}: no SDK module ({e})")
        return
    pkg = ours.package
    if pkg != theirs.package:
        bad(f"{ours.name}: package {pkg} != sdk {theirs.package}")
    if ours.syntax != theirs.syntax:
        bad(f"{ours.name}: syntax {ours.syntax!r} != sdk {theirs.syntax!r}")
    tm = {m.name: m for m in theirs.message_type}
    for m in ours.message_type:
        if m.name not in tm:
            bad(f"{pkg}.{m.name}: message not in SDK file {ours.name}")
        else:
            cmp_message(f"{pkg}.{m.name}", m, tm[m.name])
    for name in sorted(set(tm) - {m.name for m in ours.message_type}):
        infos.append(f"omitted message {pkg}.{name} ({ours.name})")
    te = {e.name: e for e in theirs.enum_type}
    for e in ours.enum_type:
        if e.name not in te:
            bad(f"{pkg}.{e.name}: enum not in SDK")
        else:
            cmp_enum(f"{pkg}.{e.name}", e, te[e.name])
    ts = {s.name: s for s in theirs.service}
    src = grpc_paths(ours.name)
    for s in ours.service:
        if s.name not in ts:
            bad(f"{pkg}.{s.name}: service not in SDK")
            continue
        tmeth = {m.name: m for m in ts[s.name].method}
        for m in s.method:
            counts["methods"] += 1
            t = tmeth.get(m.name)
            if t is None:
                bad(f"{pkg}.{s.name}/{m.name}: method not in SDK")
                continue
            for attr in ("input_type", "output_type", "client_streaming", "server_streaming"):
                if getattr(m, attr) != getattr(t, attr):
                    bad(f"{pkg}.{s.name}/{m.name}: {attr} ours {getattr(m, attr)} != sdk {getattr(t, attr)}")
            path = f"/{pkg}.{s.name}/{m.name}"
            counts["paths"] += 1
            if f"'{path}'" not in src:
                bad(f"{path}: not found in SDK grpc stub module")
        for name in [n for n in tmeth if n not in {m.name for m in s.method}]:
            infos.append(f"omitted method {pkg}.{s.name}/{name}")


def main():
    from importlib.metadata import version
    print(f"yandexcloud {version('yandexcloud')}, googleapis-common-protos "
          f"{version('googleapis-common-protos')}, protobuf {version('protobuf')}, "
          f"grpcio-tools {version('grpcio-tools')}")
    for f in compile_ours():
        cmp_file(f)
    for i in infos:
        print("info:", i)
    for m in mismatches:
        print("MISMATCH:", m)
    print(f"checked {counts}; {len(mismatches)} mismatches")
    sys.exit(1 if mismatches else 0)


if __name__ == "__main__":
    main()
