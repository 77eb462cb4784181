#!/usr/bin/python3
"""Keeps the man pages (man/*.scd) and the Debian conffile in step with the binaries.

  (a) every long option in `authd --help` and `authd-checkpassword`'s usage is mentioned in its
      man source; every authctl command (discovered from the help texts, recursively) has its own
      entry in authctl.8.scd (a paragraph whose first line names it in bold, '*user add* ...') that
      mentions each option of its `--help`; every option a man source mentions still exists;
  (b) every `[section] key` of `authd --dump-config` on an empty file is documented in
      man/authd.toml.5.scd with its default (a line "*key* = DEFAULT" under "## [section]"), and
      every documented key still exists;
  (c) every key in debian/authd.toml (set or commented out) exists, commented ones at their default.

Usage: check_docs.py --authd BIN --authctl BIN --checkpassword BIN --source DIR
Exit 0 when everything agrees, 1 with one line per thing to fix.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import tomllib

OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
problems = []


def run(argv, **kw):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                       text=True, timeout=20, env=dict(os.environ, AUTHD_CONFIG="/nonexistent/authd.toml"), **kw)
    return p.returncode, p.stdout


def cli11_sections(text):
    """{'Options': [...lines], 'Subcommands': [...]} of a CLI11 help text."""
    sections, current = {}, None
    for line in text.splitlines():
        m = re.match(r"^(\w[\w ]*):\s*$", line)
        if m:
            current = sections.setdefault(m.group(1), [])
        elif current is not None and line.strip():
            current.append(line)
    return sections


def cli11_options(text):
    # An option line starts (after two spaces) with "-x,--name" or "--name"; descriptions wrap
    # to deeper indentation and may mention other options, which are not definitions.
    opts = set()
    for line in cli11_sections(text).get("Options", []):
        m = re.match(r"^ {1,4}(-\w,)?(--[a-z][a-z0-9-]*)", line)
        if m:
            opts.add(m.group(2))
    return opts


def cli11_subcommands(text):
    subs = []
    for line in cli11_sections(text).get("Subcommands", []):
        m = re.match(r"^ {1,4}([a-z][a-z0-9-]*)(\s|$)", line)
        if m:
            subs.append(m.group(1))
    return subs


def man_options(path):
    text = open(path, encoding="utf-8").read()
    # scdoc comments (lines starting with ';') are not part of the page.
    text = "\n".join(l for l in text.splitlines() if not l.startswith(";"))
    return set(OPTION.findall(text))


def check_options(program, per_command, man_path, accepts=None):
    """per_command: {'authctl user add': {'--hash', ...}}; accepts(opt) -> bool for options that a
    help text does not list (programs without --help)."""
    rel = os.path.relpath(man_path, ARGS.source)
    documented = man_options(man_path)
    known = set().union(*per_command.values()) if per_command else set()
    for command, opts in sorted(per_command.items()):
        for opt in sorted(opts - documented):
            problems.append(f"{rel}: does not mention {opt} of '{command}' (add it to its OPTIONS)")
    for opt in sorted(documented - known):
        if accepts is not None and accepts(opt):
            continue
        problems.append(f"{rel}: mentions {opt}, which {program} no longer has (remove it)")


def authctl_commands(binary):
    """{('user', 'add'): {options}, ...} for every command path; () is authctl itself. Also the
    set of paths that are leaves (no subcommands of their own)."""
    commands, leaves = {}, set()
    todo = [()]
    while todo:
        path = todo.pop()
        rc, text = run([binary, *path, "--help"])
        if rc != 0:
            problems.append(f"'{' '.join(['authctl', *path])} --help' exited {rc}:\n{text}")
            continue
        commands[path] = cli11_options(text)
        subs = cli11_subcommands(text)
        if not subs:
            leaves.add(path)
        todo.extend(path + (sub,) for sub in subs)
    return commands, leaves


def man_paragraphs(path):
    """The definition paragraphs of a man source: a line at column 0 and the tab-indented lines
    after it, as (first line, whole text)."""
    paras, current = [], None
    for line in open(path, encoding="utf-8"):
        if line.startswith("\t") and current is not None:
            current[1].append(line)
        elif line.strip() and not line.startswith(("#", ";", "\t")):
            current = (line, [line])
            paras.append(current)
        else:
            current = None if not line.strip() else current
    return [(first, "".join(body)) for first, body in paras]


def check_authctl(binary, man_path):
    """Each authctl command has its own entry (a paragraph whose first line names it in bold, e.g.
    '*user add* _NAME_ ...') that mentions each of its options; global options anywhere."""
    rel = os.path.relpath(man_path, ARGS.source)
    commands, leaves = authctl_commands(binary)
    documented = man_options(man_path)
    paras = man_paragraphs(man_path)
    for opt in sorted(commands.get((), set()) - documented):
        problems.append(f"{rel}: does not mention {opt} of 'authctl' (add it to GLOBAL OPTIONS)")
    for path in sorted(leaves - {()}):
        name = " ".join(path)
        entry = [body for first, body in paras if f"*{name}*" in first]
        if not entry:
            problems.append(f"{rel}: no entry for 'authctl {name}': add a paragraph starting "
                            f"'*{name}* ...' under '## {path[0]}' with its options")
            continue
        text = "".join(entry)
        for opt in sorted(commands[path] - {"--help"} - set(OPTION.findall(text))):
            problems.append(f"{rel}: the entry '*{name}*' does not mention {opt} of 'authctl {name}'")
    known = set().union(*commands.values()) if commands else set()
    for opt in sorted(documented - known):
        problems.append(f"{rel}: mentions {opt}, which authctl no longer has (remove it)")


def checkpassword_options(binary):
    rc, text = run([binary, "--help"])
    if rc == 0 and "Options:" in text:
        return cli11_options(text), None
    # No --help: the options are the ones its usage line (printed on misuse) shows; an option the
    # man page documents beyond those is real when the program does not call it unknown.
    _, usage = run([binary])
    def accepts(opt):
        _, out = run([binary, opt, "x"])
        return f"unknown option {opt}" not in out
    return set(OPTION.findall(usage)), accepts


def toml_value(text):
    return tomllib.loads("v = " + text)["v"]


def documented_keys(path):
    keys, section = {}, None
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        m = re.match(r"^#+\s+\[([a-z_]+)\]\s*$", line)
        if m:
            section = m.group(1)
            continue
        m = re.match(r"^\*([a-z0-9_]+)\* = (.*?)(\s+\(restart\))?\s*$", line)
        if m and section:
            keys[(section, m.group(1))] = (m.group(2), n)
    return keys


def check_keys(authd):
    man = os.path.join(ARGS.source, "man", "authd.toml.5.scd")
    rel = os.path.relpath(man, ARGS.source)
    with tempfile.NamedTemporaryFile("w", suffix=".toml") as empty:
        rc, text = run([authd, "--config", empty.name, "--dump-config"])
    if rc != 0:
        problems.append(f"'authd --dump-config' on an empty file exited {rc}:\n{text}")
        return {}
    dump = tomllib.loads(text)
    defaults = {(s, k): v for s, table in dump.items() for k, v in table.items()}
    documented = documented_keys(man)
    for (s, k), v in sorted(defaults.items()):
        if (s, k) not in documented:
            problems.append(f"{rel}: [{s}] {k} is not documented: add under '## [{s}]' the line "
                            f"'*{k}* = {dump_literal(v)}' and a tab-indented description")
            continue
        text_value, n = documented[(s, k)]
        try:
            ok = toml_value(text_value) == v
        except tomllib.TOMLDecodeError:
            ok = False
        if not ok:
            problems.append(f"{rel}:{n}: [{s}] {k} is documented as {text_value}, the default is {dump_literal(v)}")
    for (s, k), (_, n) in sorted(documented.items()):
        if (s, k) not in defaults:
            problems.append(f"{rel}:{n}: documents [{s}] {k}, which authd no longer has (remove it)")
    return defaults


def dump_literal(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v + '"'
    if isinstance(v, list):
        return "[" + ", ".join(dump_literal(x) for x in v) + "]"
    return str(v)


def check_conffile(defaults):
    path = os.path.join(ARGS.source, "debian", "authd.toml")
    if not os.path.exists(path) or not defaults:
        return
    rel = os.path.relpath(path, ARGS.source)
    section = None
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        m = re.match(r"^#?\s*\[([a-z_]+)\]\s*$", line)
        if m:
            section = m.group(1)
            continue
        m = re.match(r"^(#\s?)?([a-z0-9_]+) = (.*?)\s*$", line)
        if not m or section is None:
            continue
        commented, key, value = m.group(1) is not None, m.group(2), m.group(3)
        value = re.sub(r"\s+#.*$", "", value)
        if (section, key) not in defaults:
            problems.append(f"{rel}:{n}: [{section}] {key} is not a key of authd (see 'authd --dump-config')")
        elif commented:
            try:
                same = toml_value(value) == defaults[(section, key)]
            except tomllib.TOMLDecodeError:
                same = False
            if not same:
                problems.append(f"{rel}:{n}: commented [{section}] {key} = {value} is not the default "
                                f"{dump_literal(defaults[(section, key)])}")


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    for name in ("authd", "authctl", "checkpassword", "source"):
        ap.add_argument("--" + name, required=True)
    ARGS = ap.parse_args()
    man = lambda page: os.path.join(ARGS.source, "man", page + ".scd")

    rc, text = run([ARGS.authd, "--help"])
    check_options("authd", {"authd": cli11_options(text)}, man("authd.8"))
    check_authctl(ARGS.authctl, man("authctl.8"))
    opts, accepts = checkpassword_options(ARGS.checkpassword)
    check_options("authd-checkpassword", {"authd-checkpassword": opts}, man("authd-checkpassword.8"), accepts)
    check_conffile(check_keys(ARGS.authd))

    if problems:
        print(f"{len(problems)} difference(s) between the binaries and their documentation:")
        for p in problems:
            print("  " + p)
        return 1
    print("man pages and debian/authd.toml agree with the binaries")
    return 0


if __name__ == "__main__":
    sys.exit(main())
