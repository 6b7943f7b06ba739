#!/usr/bin/env python3
"""leakcmp.py - pooltag run's exit report against valgrind's memcheck
(--leak-check=full) and a LeakSanitizer build (-fsanitize=leak), on the same
unmodified programs (tests/uprogs): which leaks each finds, which lines it
names, what it reports that is no leak, and its CPU time.

The truth comes from the programs' sources: each lost block is allocated at
a line marked in the source (LEAK, TREE, CYCLE, ...).  A tool's finding is
the first line of the program's own source in its stack (valgrind's and
LeakSanitizer's "by"/"#n" frames; pooltag's headline).  A finding at a line
that is no leak, or naming no line of the program, is a false report.
Direct leaks are compared (indirect blocks hang off them in all three).

usage: bench/leakcmp.py BUILD_DIR      (make bench runs it)
Prints a table; tools not installed are skipped.
"""
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
UP = os.path.join(BUILD, "tests", "uprogs")


def line_of(path, marker):
    with open(os.path.join(SRC, path)) as f:
        for i, l in enumerate(f, 1):
            if marker in l:
                return "%s:%d" % (os.path.basename(path), i)
    raise SystemExit("leakcmp: no '%s' in %s" % (marker, path))


R = "tests/uprogs/reach.c"
LEAK = line_of(R, "/* LEAK line */")
CASES = [
    # name, argv (relative to UP), source files of the program, expected leak lines
    ("global", ["reach", "global"], [R], {LEAK}),
    ("stack", ["reach", "stack"], [R], {LEAK}),
    ("tls", ["reach", "tls"], [R], {LEAK}),
    ("thread", ["reach", "thread"], [R], {LEAK}),
    ("register", ["reach", "register"], [R], {LEAK}),
    ("tree", ["reach", "tree"], [R], {LEAK, line_of(R, "/* TREE line */")}),
    ("cycle", ["reach", "cycle"], [R], {LEAK, line_of(R, "/* CYCLE line */")}),
    ("returned", ["reach", "returned"], [R], {LEAK, line_of(R, "/* RETURNED line */")}),
    ("leaky", ["leaky"], ["tests/uprogs/leaky.c"],
     {line_of("tests/uprogs/leaky.c", "/* LEAK malloc */"),
      line_of("tests/uprogs/leaky.c", "/* LEAK calloc */"),
      line_of("tests/uprogs/leaky.c", "/* LEAK strdup */"),
      line_of("tests/uprogs/leaky.c", "/* WRAPPER line */")}),
    ("uthreads", ["uthreads", "4", "20000", "25"], ["tests/uprogs/uthreads.c"],
     {line_of("tests/uprogs/uthreads.c", "/* KEEP line */")}),
    ("dlclose", ["dlhost", "@libuplug.so", "10", "leak"], ["tests/uprogs/libuplug.c"],
     {line_of("tests/uprogs/libuplug.c", "/* PLUGIN alloc */")}),
    ("c++", ["cxxleak"], ["tests/uprogs/cxxleak.cc"],
     {line_of("tests/uprogs/cxxleak.cc", "// NEW line")}),
]


def cpu_run(argv, env=None):
    """Runs argv; returns (stderr text, CPU seconds of the children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       stdin=subprocess.DEVNULL, env=env, timeout=600)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return p.stderr.decode("utf-8", "replace"), cpu


def first_own(frames, files):
    """The first "file:line" of the program's sources among frames."""
    names = {os.path.basename(f) for f in files} | {"reach.c", "leaky.c", "dlhost.c"}
    for fl in frames:
        fl = os.path.basename(fl)
        if fl.split(":")[0] in names:
            return fl
    return "?"


def parse_pooltag(text, files):
    found = []
    for l in text.splitlines():
        m = re.match(r"^    \d+ blocks?, \d+ bytes lost.* at (\S+:\d+) in ", l)
        if m:
            found.append(m.group(1))
        elif re.match(r"^    \d+ blocks?, \d+ bytes lost", l):
            found.append("?")
    return found


def parse_records(text, start, frame_re, files):
    """Splits a report into loss records starting at lines matching start;
    each record's first own frame."""
    found, cur = [], None
    for l in text.splitlines():
        if re.search(start, l):
            if cur is not None:
                found.append(first_own(cur, files))
            cur = []
            continue
        if cur is not None:
            m = re.search(frame_re, l)
            if m:
                cur.append(m.group(1))
            elif not l.strip() or "==" in l and not re.search(r"(at|by) 0x", l):
                found.append(first_own(cur, files))
                cur = None
    if cur is not None:
        found.append(first_own(cur, files))
    return found


def parse_valgrind(text, files):
    return parse_records(text, r"are definitely lost in loss record",
                         r"\((\S+\.(?:c|cc):\d+)\)", files)


def parse_lsan(text, files):
    return parse_records(text, r"^Direct leak of", r" (\S+\.(?:c|cc):\d+)", files)


def argv_for(case_argv, updir):
    out = []
    for a in case_argv:
        out.append(os.path.join(updir, a[1:]) if a.startswith("@") else a)
    out[0] = os.path.join(updir, out[0])
    return out


def build_lsan(tmp):
    """The programs built with -fsanitize=leak (gcc or clang), or None."""
    cc = shutil.which("gcc") or shutil.which("clang")
    cxx = shutil.which("g++") or shutil.which("clang++")
    if not cc:
        return None
    for prog in ("reach", "leaky", "uthreads", "dlhost"):
        r = subprocess.run([cc, "-std=gnu11", "-g", "-O1", "-pthread", "-fsanitize=leak", "-o",
                            os.path.join(tmp, prog), os.path.join(SRC, "tests/uprogs", prog + ".c"),
                            "-ldl"], stderr=subprocess.PIPE)
        if r.returncode != 0:
            return None
    subprocess.run([cc, "-g", "-O1", "-fPIC", "-shared", "-o", os.path.join(tmp, "libuplug.so"),
                    os.path.join(SRC, "tests/uprogs/libuplug.c")], check=True)
    if cxx:
        subprocess.run([cxx, "-std=c++17", "-g", "-O1", "-fsanitize=leak", "-o",
                        os.path.join(tmp, "cxxleak"), os.path.join(SRC, "tests/uprogs/cxxleak.cc")],
                       check=False)
    return tmp


def score(found, expected):
    named = {f for f in found if f in expected}
    false = [f for f in found if f not in expected]
    return named, false


def main():
    pt = os.path.join(BUILD, "pooltag")
    if not os.access(pt, os.X_OK) or not os.access(os.path.join(UP, "reach"), os.X_OK):
        raise SystemExit("leakcmp: build pooltag and tests/uprogs first (make all and the test programs)")
    tools = [("pooltag run", None)]
    if shutil.which("valgrind"):
        tools.append(("valgrind", None))
    tmp = tempfile.mkdtemp(prefix="pooltag-leakcmp-")
    try:
        lsan_dir = build_lsan(tmp)
        if lsan_dir:
            tools.append(("LSan build", lsan_dir))
        print("leak checkers on the same programs (tests/uprogs): leaks found of those there are, "
              "false reports, CPU time")
        print("  %-10s %s" % ("program", "".join("%-26s" % t for t, _ in tools)))
        total = {t: [0, 0, 0, 0.0] for t, _ in tools}  # found, expected, false, cpu
        for name, cargv, files, expected in CASES:
            cells = []
            for tool, d in tools:
                if tool == "pooltag run":
                    argv = [pt, "run", "--"] + argv_for(cargv, UP)
                    text, cpu = cpu_run(argv)
                    found = parse_pooltag(text, files)
                elif tool == "valgrind":
                    argv = ["valgrind", "--leak-check=full", "--error-exitcode=0"] + argv_for(cargv, UP)
                    text, cpu = cpu_run(argv)
                    found = parse_valgrind(text, files)
                else:
                    if not os.access(os.path.join(d, cargv[0]), os.X_OK):
                        cells.append("%-26s" % "not built")
                        continue
                    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1")
                    text, cpu = cpu_run(argv_for(cargv, d), env)
                    found = parse_lsan(text, files)
                named, false = score(found, expected)
                t = total[tool]
                t[0] += len(named)
                t[1] += len(expected)
                t[2] += len(false)
                t[3] += cpu
                cells.append("%-26s" % ("%d/%d, %d false, %.2fs" % (len(named), len(expected),
                                                                   len(false), cpu)))
            print("  %-10s %s" % (name, "".join(cells)))
            sys.stdout.flush()
        print("  %-10s %s" % ("total", "".join(
            "%-26s" % ("%d/%d, %d false, %.2fs" % tuple(total[t])) for t, _ in tools)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
